// What both passkey scripts need from WebAuthn: its JSON forms (Level 3), converted by
// hand in browsers that lack PublicKeyCredential's own JSON methods, and the request
// for a ceremony's options. Loaded before /assets/passkey.js (sign-in) and
// /assets/passkey-register.js (the console's security page), which hold the pages' logic.
var RosterWebAuthn = (function () {
  "use strict";

  function supported() {
    return Boolean(window.PublicKeyCredential && navigator.credentials);
  }

  // base64url text to bytes, and back.
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

  function optional(call) {
    try {
      return call();
    } catch (e) {
      return undefined;
    }
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

  // The fields every credential's JSON form has, around its `response` part.
  function credentialJson(credential, response) {
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: response
    };
  }

  // A new credential as RegistrationResponseJSON.
  function registrationJson(credential) {
    if (typeof credential.toJSON === "function") {
      return credential.toJSON();
    }
    var response = credential.response;
    var json = credentialJson(credential, {
      clientDataJSON: toText(response.clientDataJSON),
      attestationObject: toText(response.attestationObject),
      transports: optional(function () { return response.getTransports(); }) || []
    });
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

  // An assertion as AuthenticationResponseJSON.
  function authenticationJson(credential) {
    if (typeof credential.toJSON === "function") {
      return credential.toJSON();
    }
    var response = credential.response;
    return credentialJson(credential, {
      clientDataJSON: toText(response.clientDataJSON),
      authenticatorData: toText(response.authenticatorData),
      signature: toText(response.signature),
      userHandle: response.userHandle ? toText(response.userHandle) : null
    });
  }

  // Asks `endpoint` for the options of a ceremony for `purpose`, with the CSRF token of
  // `form`; a refusal becomes an Error carrying the problem's detail.
  function fetchOptions(endpoint, form, purpose) {
    var body = new URLSearchParams();
    body.set("csrf_token", form.elements.csrf_token.value);
    body.set("purpose", purpose);
    return fetch(endpoint, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (answer) {
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

  // What a status line (`role=status`) says at each step, in the page's language: the
  // page writes the words into its `data-waiting`, `data-working` and `data-failed`
  // attributes; English when it does not.
  function statusLine(element) {
    var fallback = {
      waiting: "Waiting for your passkey…",
      working: "One moment…",
      failed: "The passkey was not used. Try again, or another way."
    };
    function say(step) {
      if (element) {
        element.textContent = (element.dataset && element.dataset[step]) || fallback[step];
      }
    }
    return {
      waiting: function () { say("waiting"); },
      working: function () { say("working"); },
      failed: function (error) {
        say("failed");
        if (window.console) {
          window.console.warn("passkey:", reason(error));
        }
      }
    };
  }

  return {
    supported: supported,
    creationOptions: creationOptions,
    requestOptions: requestOptions,
    registrationJson: registrationJson,
    authenticationJson: authenticationJson,
    fetchOptions: fetchOptions,
    reason: reason,
    statusLine: statusLine
  };
})();
