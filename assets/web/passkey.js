// Passkeys on Roster's sign-in page: the one thing the pages cannot do without a script.
// A form with id "passkey-form" (hidden until the browser is known to support WebAuthn)
// names what the passkey is for in its "passkey" field. On submit, this asks Roster for
// the ceremony's options, lets the browser's authenticator answer, and posts the answer
// with the form. Nothing else on the page depends on it. Needs /assets/webauthn.js.
(function () {
  "use strict";
  var webauthn = window.RosterWebAuthn;
  var form = document.getElementById("passkey-form");
  if (!form || !webauthn || !webauthn.supported()) {
    return;
  }
  form.hidden = false;
  var status = webauthn.statusLine(document.getElementById("passkey-status"));

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    status.waiting();
    webauthn.fetchOptions("/login/passkey-options", form, form.elements.passkey.value)
      .then(function (options) {
        form.elements.challenge_id.value = options.challenge_id;
        return navigator.credentials.get({ publicKey: webauthn.requestOptions(options.publicKey) });
      })
      .then(function (credential) {
        if (!credential) {
          throw new Error("no passkey was chosen");
        }
        form.elements.credential.value = JSON.stringify(webauthn.authenticationJson(credential));
        status.working();
        form.submit();
      })
      .catch(status.failed);
  });
})();
