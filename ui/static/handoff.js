// Portcullis cross-device sign-in (authn/handoff). On the new device's page it asks for a code,
// shows it with a countdown and polls until the code is approved, denied or expired; once
// approved, webauthn.js creates this device's passkey (the #passkey-create button). On the
// trusted device's "Is this you?" page it runs a fresh passkey check (/account/verify/begin and
// /account/verify/finish) and then approves. No dependencies, no page reloads.
(function () {
  "use strict";

  // webauthn.js (loaded first on every page that loads this one) owns the WebAuthn JSON
  // conversions, the JSON POST with the CSRF header and the status line.
  var P = window.Portcullis;
  var post = P.post, say = P.say;

  // --- The new device ---------------------------------------------------------------------

  function newDevice(root) {
    var d = root.dataset;
    var sections = ["handoff-ask", "handoff-wait", "handoff-create", "handoff-ended"];
    var generation = 0, deadline = 0, pollTimer = null, tickTimer = null;

    function show(id) {
      sections.forEach(function (s) { document.getElementById(s).hidden = s !== id; });
    }
    function stop() {
      generation++;
      clearTimeout(pollTimer);
      clearInterval(tickTimer);
    }
    function ended(text) {
      stop();
      document.getElementById("handoff-ended-text").textContent = text;
      show("handoff-ended");
      say("");
    }
    function tick() {
      var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
      document.getElementById("handoff-countdown").textContent = Math.floor(left / 60) + ":" + ("0" + (left % 60)).slice(-2);
    }
    function poll(gen) {
      fetch(d.status, { credentials: "same-origin", cache: "no-store" }).then(function (resp) {
        return resp.json();
      }).then(function (data) {
        if (gen !== generation) { return; }
        switch (data.state) {
          case "pending":
            if (data.expires_in > 0) { deadline = Date.now() + data.expires_in * 1000; }
            pollTimer = setTimeout(function () { poll(gen); }, 2000);
            return;
          case "approved":
            stop();
            show("handoff-create");
            say("Approved on your other device. Create a passkey on this device to finish signing in.");
            return;
          case "denied":
            ended("The sign-in was denied on your other device.");
            return;
          case "expired":
            ended("The code has expired.");
            return;
        }
        ended("This code no longer works.");
      }).catch(function () {
        // A network blip: keep waiting, a little slower.
        if (gen === generation) { pollTimer = setTimeout(function () { poll(gen); }, 5000); }
      });
    }
    function start() {
      var username = document.getElementById("handoff-username").value.trim();
      if (!username) { show("handoff-ask"); say("Enter your username.", true); return; }
      stop();
      var gen = generation;
      say("Getting a code…");
      post(d.start, { username: username, request: d.request || "" }).then(function (data) {
        if (gen !== generation) { return; }
        document.getElementById("handoff-code").textContent = data.code;
        deadline = Date.now() + data.expires_in * 1000;
        tick();
        tickTimer = setInterval(tick, 1000);
        show("handoff-wait");
        say("Waiting for you to approve the code on your other device…");
        pollTimer = setTimeout(function () { poll(gen); }, 2000);
      }).catch(function (err) {
        show("handoff-ask");
        say(err && err.message ? err.message : "Something went wrong. Please try again.", true);
      });
    }

    document.getElementById("handoff-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      start();
    });
    document.getElementById("handoff-new").addEventListener("click", start);
    document.getElementById("handoff-restart").addEventListener("click", function () {
      show("handoff-ask");
      say("");
      document.getElementById("handoff-username").focus();
    });
    if (d.autostart && document.getElementById("handoff-ask").hidden === false) { start(); }
  }

  // --- The trusted device ------------------------------------------------------------------

  function approve(button) {
    var d = button.dataset;
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say("This browser does not support passkeys, so it cannot approve. Use the device where your passkey is.", true);
      return;
    }
    button.disabled = true;
    say("Confirm it's you with your passkey…");
    post(d.begin, {}).then(function (data) {
      return navigator.credentials.get({ publicKey: P.parseRequest(data.publicKey) });
    }).then(function (cred) {
      say("Checking your passkey…");
      return post(d.finish, { credential: P.credToJSON(cred) });
    }).then(function () {
      return post(d.approve, {});
    }).then(function (data) {
      say("Approved.");
      window.location.assign(data.redirect);
    }).catch(function (err) {
      button.disabled = false;
      if (err && err.server) { say(err.message, true); return; }
      say(P.explain(err), true);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("handoff");
    if (root) { newDevice(root); }
    var button = document.getElementById("handoff-approve");
    if (button) { button.addEventListener("click", function () { approve(button); }); }
  });
})();
