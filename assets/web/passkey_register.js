// Passkeys on Roster's security page (/account/security): adding one, and confirming
// that it is you with one. The one part of the console that needs a script; everything
// else on the page works without it.
//
// - The form with id "passkey-register-form": on submit, asks
//   /account/security/passkey-options (purpose=register, the page's CSRF token) for the
//   creation options, lets the browser's authenticator make the credential, and posts
//   its RegistrationResponseJSON in the form's "credential" field.
// - The button with id "reauth-passkey" in the form "reauth-form": asks for request
//   options (purpose=reauthenticate), lets the authenticator answer, and posts the
//   answer with the password typed in that form.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  function toBuffer(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (c) {
      return Object.assign({}, c, { id: toBuffer(c.id) });
    });
  }

  // PublicKeyCredentialCreationOptionsJSON to what navigator.credentials.create takes.
  function creationOptions(json) {
    if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    var options = Object.assign({}, json, {
      challenge: toBuffer(json.challenge),
      user: Object.assign({}, json.user, { id: toBuffer(json.user.id) })
    });
    if (json.excludeCredentials) {
      options.excludeCredentials = withIds(json.excludeCredentials);
    }
    return options;
  }

  // PublicKeyCredentialRequestOptionsJSON to what navigator.credentials.get takes.
  function requestOptions(json) {
    if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    var options = Object.assign({}, json, { challenge: toBuffer(json.challenge) });
    if (json.allowCredentials) {
      options.allowCredentials = withIds(json.allowCredentials);
    }
    return options;
  }

  function optional(call) {
    try {
      return call();
    } catch (e) {
      return undefined;
    }
  }

  // The new credential as RegistrationResponseJSON.
  function registrationJson(credential) {
    if (typeof credential.toJSON === "function") {
      return credential.toJSON();
    }
    var response = credential.response;
    var json = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: {
        clientDataJSON: toText(response.clientDataJSON),
        attestationObject: toText(response.attestationObject),
        transports: optional(function () { return response.getTransports(); }) || []
      }
    };
    var data = optional(function () { return response.getAuthenticatorData(); });
    if (data) {
      json.response.authenticatorData = toText(data);
    }
    var key = optional(function () { return response.getPublicKey(); });
    if (key) {
      json.response.publicKey = toText(key);
    }
    var algorithm = optional(function () { return response.getPublicKeyAlgorithm(); });
    if (typeof algorithm === "number") {
      json.response.publicKeyAlgorithm = algorithm;
    }
    return json;
  }

  // The assertion as AuthenticationResponseJSON.
  function authenticationJson(credential) {
    if (typeof credential.toJSON === "function") {
      return credential.toJSON();
    }
    var response = credential.response;
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: {
        clientDataJSON: toText(response.clientDataJSON),
        authenticatorData: toText(response.authenticatorData),
        signature: toText(response.signature),
        userHandle: response.userHandle ? toText(response.userHandle) : null
      }
    };
  }

  // Asks the page's endpoint for a ceremony's options.
  function ceremony(form, purpose) {
    var body = new URLSearchParams();
    body.set("csrf_token", form.elements.csrf_token.value);
    body.set("purpose", purpose);
    return fetch("/account/security/passkey-options", {
      method: "POST",
      body: body,
      credentials: "same-origin"
    }).then(function (answer) {
      if (!answer.ok) {
        return answer.json().then(function (problem) {
          throw new Error(problem.detail || problem.title || "the request was refused");
        }, function () {
          throw new Error("the request was refused; reload the page");
        });
      }
      return answer.json();
    });
  }

  function reason(error) {
    return error && error.message ? error.message : String(error);
  }

  var register = document.getElementById("passkey-register-form");
  if (register) {
    var registerStatus = document.getElementById("passkey-status");
    var button = document.getElementById("passkey-register");
    if (button) {
      button.disabled = false;
    }
    register.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!register.reportValidity()) {
        return;
      }
      registerStatus.textContent = "Waiting for your authenticator…";
      ceremony(register, "register")
        .then(function (options) {
          register.elements.challenge_id.value = options.challenge_id;
          return navigator.credentials.create({ publicKey: creationOptions(options.publicKey) });
        })
        .then(function (credential) {
          if (!credential) {
            throw new Error("no passkey was made");
          }
          register.elements.credential.value = JSON.stringify(registrationJson(credential));
          registerStatus.textContent = "Saving the passkey…";
          register.submit();
        })
        .catch(function (error) {
          registerStatus.textContent = "The passkey was not added: " + reason(error);
        });
    });
  }

  var reauth = document.getElementById("reauth-form");
  var reauthButton = document.getElementById("reauth-passkey");
  if (reauth && reauthButton) {
    var reauthStatus = document.getElementById("reauth-status");
    reauthButton.hidden = false;
    reauthButton.addEventListener("click", function () {
      var password = reauth.elements.password;
      if (!password.reportValidity()) {
        return;
      }
      reauthStatus.textContent = "Waiting for your passkey…";
      ceremony(reauth, "reauthenticate")
        .then(function (options) {
          reauth.elements.challenge_id.value = options.challenge_id;
          return navigator.credentials.get({ publicKey: requestOptions(options.publicKey) });
        })
        .then(function (credential) {
          if (!credential) {
            throw new Error("no passkey was chosen");
          }
          reauth.elements.credential.value = JSON.stringify(authenticationJson(credential));
          ["code", "recovery_code"].forEach(function (name) {
            if (reauth.elements[name]) {
              reauth.elements[name].value = "";
            }
          });
          reauthStatus.textContent = "Confirming…";
          reauth.submit();
        })
        .catch(function (error) {
          reauthStatus.textContent = "The passkey was not used: " + reason(error);
        });
    });
  }
})();
