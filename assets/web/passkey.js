// Passkeys on Roster's sign-in page: the one thing the pages cannot do without a script.
// A form with id "passkey-form" (hidden until the browser is known to support WebAuthn)
// names what the passkey is for in its "passkey" field. On submit, this asks Roster for
// the ceremony's options, lets the browser's authenticator answer, and posts the answer
// with the form. Nothing else on the page depends on it.
(function () {
  "use strict";
  var form = document.getElementById("passkey-form");
  if (!form || !window.PublicKeyCredential || !navigator.credentials) {
    return;
  }
  form.hidden = false;
  var status = document.getElementById("passkey-status");

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

  // PublicKeyCredentialRequestOptionsJSON to the options navigator.credentials takes.
  function requestOptions(json) {
    if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    var options = Object.assign({}, json, { challenge: toBuffer(json.challenge) });
    if (json.allowCredentials) {
      options.allowCredentials = json.allowCredentials.map(function (c) {
        return Object.assign({}, c, { id: toBuffer(c.id) });
      });
    }
    return options;
  }

  // The credential as AuthenticationResponseJSON.
  function responseJson(credential) {
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

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    say("Waiting for your passkey…");
    var body = new URLSearchParams();
    body.set("csrf_token", form.elements.csrf_token.value);
    body.set("purpose", form.elements.passkey.value);
    fetch("/login/passkey-options", { method: "POST", body: body, credentials: "same-origin" })
      .then(function (answer) {
        if (!answer.ok) {
          return answer.json().then(function (problem) {
            throw new Error(problem.detail || problem.title || "the request was refused");
          });
        }
        return answer.json();
      })
      .then(function (options) {
        form.elements.challenge_id.value = options.challenge_id;
        return navigator.credentials.get({ publicKey: requestOptions(options.publicKey) });
      })
      .then(function (credential) {
        if (!credential) {
          throw new Error("no passkey was chosen");
        }
        form.elements.credential.value = JSON.stringify(responseJson(credential));
        say("Signing in…");
        form.submit();
      })
      .catch(function (error) {
        say("The passkey was not used: " + (error && error.message ? error.message : error));
      });
  });
})();
