// Portcullis passkey helper: the only script on the sign-in and account pages. It calls the
// browser's WebAuthn API with options from the server and posts the result back. It uses the
// browser's JSON helpers (parseCreationOptionsFromJSON, parseRequestOptionsFromJSON, toJSON)
// and falls back to its own base64url conversion where they are missing.
(function () {
  "use strict";

  function b64urlToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }
  function bufToB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function parseCreation(o) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) { return PublicKeyCredential.parseCreationOptionsFromJSON(o); }
    o = Object.assign({}, o);
    o.challenge = b64urlToBuf(o.challenge);
    o.user = Object.assign({}, o.user, { id: b64urlToBuf(o.user.id) });
    o.excludeCredentials = (o.excludeCredentials || []).map(function (c) { return Object.assign({}, c, { id: b64urlToBuf(c.id) }); });
    return o;
  }
  function parseRequest(o) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) { return PublicKeyCredential.parseRequestOptionsFromJSON(o); }
    o = Object.assign({}, o);
    o.challenge = b64urlToBuf(o.challenge);
    o.allowCredentials = (o.allowCredentials || []).map(function (c) { return Object.assign({}, c, { id: b64urlToBuf(c.id) }); });
    return o;
  }
  function credToJSON(c) {
    if (c.toJSON) { return c.toJSON(); }
    var r = c.response, out = { id: c.id, rawId: bufToB64url(c.rawId), type: c.type, response: {},
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {} };
    out.response.clientDataJSON = bufToB64url(r.clientDataJSON);
    if (r.attestationObject) {
      out.response.attestationObject = bufToB64url(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = bufToB64url(r.authenticatorData);
      out.response.signature = bufToB64url(r.signature);
      if (r.userHandle) { out.response.userHandle = bufToB64url(r.userHandle); }
    }
    if (c.authenticatorAttachment) { out.authenticatorAttachment = c.authenticatorAttachment; }
    return out;
  }

  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var status = document.getElementById("status");

  function say(text, isError) {
    if (!status) { return; }
    status.textContent = text;
    status.className = isError ? "status error" : "status";
  }

  // Plain-language messages for what the browser reports (WebAuthn L3 §5.1.3, §5.1.4 exceptions).
  function explain(err) {
    switch (err && err.name) {
      case "NotAllowedError": return "The passkey prompt was closed or timed out. Try again when you are ready.";
      case "InvalidStateError": return "This device already has a passkey for your account.";
      case "NotSupportedError": return "This browser or device cannot create a passkey of the kind required.";
      case "SecurityError": return "This page is not allowed to use passkeys here. Check the address and try again.";
      case "AbortError": return "The passkey request was cancelled.";
    }
    return "Something went wrong with the passkey. Please try again.";
  }

  function post(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {}) }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (!resp.ok) { throw { server: true, message: data.error || "Something went wrong. Please try again." }; }
        return data;
      });
    });
  }

  function fail(err) {
    var msg = err && err.server ? err.message : explain(err);
    say(msg, true);
    busy(false);
  }

  function busy(on) {
    document.querySelectorAll("button[data-passkey]").forEach(function (b) { b.disabled = on; });
  }

  function supported() {
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say("This browser does not support passkeys. Use an up-to-date browser on a device with a screen lock.", true);
      return false;
    }
    return true;
  }

  var conditional = null; // AbortController of the autofill request
  var autofill = null;    // starts the autofill request, where the browser offers autofill
  var autofillStarts = 0;

  function stopConditional() {
    if (conditional) { conditional.abort(); conditional = null; }
  }

  // A prompt the person opened ends the autofill request (a page has one WebAuthn request at a
  // time). When the attempt ends before a passkey was chosen (prompt closed or timed out, no
  // passkey on this device, a mistyped username), the username field offers saved passkeys
  // again. Not after the server refused a chosen passkey: the same passkey would be offered
  // again, and the message says what to do instead. Only after a prompt the person opened, never
  // after the autofill request itself ends (some browsers end it at once when the device has no
  // passkey), and a few times per page at most: nothing can turn it into a loop of requests.
  function offerAutofillAgain(chosen) {
    if (!autofill || conditional || chosen || autofillStarts >= 5) { return; }
    autofill();
  }

  // Sign in: begin on the server, ask the device, finish on the server, follow its redirect.
  function signIn(beginURL, body, mediation) {
    if (!supported()) { return; }
    var opts = {}, ctl = null, chosen = false;
    if (mediation === "conditional") {
      ctl = conditional = new AbortController();
      autofillStarts++;
      opts = { mediation: "conditional", signal: ctl.signal };
    } else {
      stopConditional();
      busy(true);
      say("Follow the prompt on your device…");
    }
    return post(beginURL, body).then(function (data) {
      opts.publicKey = parseRequest(data.publicKey);
      if (data.message && mediation !== "conditional") { say(data.message); }
      return navigator.credentials.get(opts);
    }).then(function (cred) {
      chosen = true;
      busy(true);
      say("Checking your passkey…");
      return post(document.body.dataset.finish || "/login/finish", { credential: credToJSON(cred), request: document.body.dataset.request || "" });
    }).then(function (data) {
      say("Signed in. Continuing…");
      window.location.assign(data.redirect);
    }).catch(function (err) {
      if (mediation === "conditional") {
        if (conditional === ctl) { conditional = null; }
        // Autofill is the browser's offer, not the person's request: when it ends without a
        // passkey (aborted, nothing chosen, no passkey here) it says nothing and leaves the page's
        // own message (e.g. a refused password) alone. A refusal by the server after a passkey
        // was chosen is still shown.
        if (err && err.server) { fail(err); }
        return;
      }
      fail(err);
      offerAutofillAgain(chosen);
    });
  }

  function register(beginURL, finishURL, body) {
    if (!supported()) { return; }
    stopConditional();
    busy(true);
    say("Follow the prompt on your device to create a passkey…");
    return post(beginURL, body).then(function (data) {
      return navigator.credentials.create({ publicKey: parseCreation(data.publicKey) });
    }).then(function (cred) {
      say("Saving your passkey…");
      var extra = {};
      var nameField = document.getElementById("passkey-name");
      if (nameField) { extra.name = nameField.value; }
      return post(finishURL, Object.assign({ credential: credToJSON(cred) }, extra));
    }).then(function (data) {
      say("Passkey created.");
      window.location.assign(data.redirect);
    }).catch(fail);
  }

  // Shared with the other page scripts (handoff.js), which load after this one.
  window.Portcullis = { post: post, say: say, explain: explain, parseRequest: parseRequest, credToJSON: credToJSON };

  document.addEventListener("DOMContentLoaded", function () {
    var body = document.body.dataset;
    var form = document.getElementById("username-form");
    if (form) {
      form.addEventListener("submit", function (ev) {
        // "Sign in with password" posts the form as it is; Continue runs the passkey ceremony.
        if (ev.submitter && ev.submitter.id === "password-submit") { return; }
        // Enter in a filled-in password field means the password too.
        var pw = document.getElementById("password"), pwButton = document.getElementById("password-submit");
        if (pw && pw.value && pwButton) { form.action = pwButton.formAction; return; }
        ev.preventDefault();
        var username = document.getElementById("username").value.trim();
        if (!username) { say("Enter your username.", true); return; }
        signIn(body.begin, { username: username, request: body.request || "" });
      });
    }
    // "Sign in from another device" takes the username already typed along.
    var handoff = document.getElementById("handoff-link");
    if (handoff) {
      handoff.addEventListener("click", function (ev) {
        var field = document.getElementById("username");
        var name = field ? field.value.trim() : "";
        if (!name) { return; }
        ev.preventDefault();
        var u = new URL(handoff.href, window.location.href);
        u.searchParams.set("username", name);
        window.location.assign(u.toString());
      });
    }
    var any = document.getElementById("passkey-any");
    if (any) {
      any.addEventListener("click", function () { signIn(body.beginAny, { request: body.request || "" }); });
    }
    // Autofill: offer saved passkeys in the username field when the browser can (conditional mediation).
    if (form && body.beginAny && window.PublicKeyCredential && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (!ok) { return; }
        autofill = function () { signIn(body.beginAny, { request: body.request || "", conditional: true }, "conditional"); };
        autofill();
      });
    }
    var create = document.getElementById("passkey-create");
    if (create) {
      create.addEventListener("click", function () {
        var extra = {};
        document.querySelectorAll("[data-field]").forEach(function (el) { extra[el.dataset.field] = el.value; });
        register(create.dataset.begin, create.dataset.finish, extra);
      });
    }
    var verify = document.getElementById("passkey-verify");
    if (verify) {
      verify.addEventListener("click", function () { signIn(verify.dataset.begin, {}); });
    }
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (ev) {
        if (!window.confirm(f.dataset.confirm)) { ev.preventDefault(); }
      });
    });
  });
})();
