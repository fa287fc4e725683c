// Passkeys on Roster's security page (/account/security): adding one, and confirming
// that it is you with one. The one part of the console that needs a script; everything
// else on the page works without it.
//
// - The form with id "passkey-register-form": on submit, asks
//   /account/security/passkey-options (purpose=register, the page's CSRF token) for the
//   creation options, lets the browser's authenticator make the credential, and posts
//   its RegistrationResponseJSON in the form's "credential" field.
// - What the status lines (#passkey-status, #reauth-status) say at each step comes from
//   their data-waiting, data-working and data-failed attributes (the page's language).
// - The button with id "reauth-passkey" in the form "reauth-form": asks for request
//   options (purpose=reauthenticate), lets the authenticator answer, and posts the
//   answer with the password typed in that form.
//
// Needs /assets/webauthn.js.
(function () {
  "use strict";
  var webauthn = window.RosterWebAuthn;
  if (!webauthn || !webauthn.supported()) {
    return;
  }

  function ceremony(form, purpose) {
    return webauthn.fetchOptions("/account/security/passkey-options", form, purpose);
  }

  var register = document.getElementById("passkey-register-form");
  if (register) {
    var registerStatus = webauthn.statusLine(document.getElementById("passkey-status"));
    var button = document.getElementById("passkey-register");
    if (button) {
      button.disabled = false;
    }
    register.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!register.reportValidity()) {
        return;
      }
      registerStatus.waiting();
      ceremony(register, "register")
        .then(function (options) {
          register.elements.challenge_id.value = options.challenge_id;
          return navigator.credentials.create({ publicKey: webauthn.creationOptions(options.publicKey) });
        })
        .then(function (credential) {
          if (!credential) {
            throw new Error("no passkey was made");
          }
          register.elements.credential.value = JSON.stringify(webauthn.registrationJson(credential));
          registerStatus.working();
          register.submit();
        })
        .catch(registerStatus.failed);
    });
  }

  var reauth = document.getElementById("reauth-form");
  var reauthButton = document.getElementById("reauth-passkey");
  if (reauth && reauthButton) {
    var reauthStatus = webauthn.statusLine(document.getElementById("reauth-status"));
    reauthButton.hidden = false;
    reauthButton.addEventListener("click", function () {
      var password = reauth.elements.password;
      if (!password.reportValidity()) {
        return;
      }
      reauthStatus.waiting();
      ceremony(reauth, "reauthenticate")
        .then(function (options) {
          reauth.elements.challenge_id.value = options.challenge_id;
          return navigator.credentials.get({ publicKey: webauthn.requestOptions(options.publicKey) });
        })
        .then(function (credential) {
          if (!credential) {
            throw new Error("no passkey was chosen");
          }
          reauth.elements.credential.value = JSON.stringify(webauthn.authenticationJson(credential));
          ["code", "recovery_code"].forEach(function (name) {
            if (reauth.elements[name]) {
              reauth.elements[name].value = "";
            }
          });
          reauthStatus.working();
          reauth.submit();
        })
        .catch(reauthStatus.failed);
    });
  }
})();
