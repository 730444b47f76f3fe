// sotto passkeys: sign in with a passkey (alone, or instead of the code
// after the password) and add one on the security page. Included only on
// those pages; everything else on them works without it. The server's
// options carry binary members as base64url strings; the browser wants
// ArrayBuffers, and its answer goes back as base64url JSON.
(function () {
  'use strict';
  var $ = function (sel) { return document.querySelector(sel); };
  if (!window.PublicKeyCredential || !navigator.credentials) { return; } // the pages keep their password forms

  var fromB64u = function (s) {
    s = s.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) { s += '='; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  };
  var toB64u = function (buf) {
    if (!buf) { return undefined; }
    var bytes = new Uint8Array(buf), bin = '';
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  };
  var descriptors = function (list) {
    return (list || []).map(function (d) { return { type: d.type, id: fromB64u(d.id), transports: d.transports }; });
  };
  var creationOptions = function (o) {
    o.challenge = fromB64u(o.challenge);
    o.user.id = fromB64u(o.user.id);
    o.excludeCredentials = descriptors(o.excludeCredentials);
    return o;
  };
  var requestOptions = function (o) {
    o.challenge = fromB64u(o.challenge);
    if (o.allowCredentials) { o.allowCredentials = descriptors(o.allowCredentials); }
    return o;
  };
  // credentialJSON is the browser's PublicKeyCredential as the server reads it.
  var credentialJSON = function (c) {
    var r = c.response, out = {
      id: c.id, rawId: toB64u(c.rawId), type: c.type, authenticatorAttachment: c.authenticatorAttachment || undefined,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64u(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64u(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toB64u(r.authenticatorData);
      out.response.signature = toB64u(r.signature);
      out.response.userHandle = toB64u(r.userHandle);
    }
    return out;
  };
  // post sends body as JSON and resolves with the status and parsed answer.
  var post = function (url, body) {
    return fetch(url, {
      method: 'POST', credentials: 'same-origin', cache: 'no-store',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().then(function (b) { return { ok: res.ok, body: b }; }, function () { return { ok: res.ok, body: {} }; });
    });
  };
  // failure is an Error carrying the server's error code.
  var failure = function (res) {
    var e = new Error('request failed');
    e.code = res.body && res.body.error ? res.body.error.code : '';
    return e;
  };
  // explain turns a failure into the page's words (data-t-* of box).
  var explain = function (box, e, codes) {
    if (e && (e.name === 'NotAllowedError' || e.name === 'AbortError')) { return box.getAttribute('data-t-cancelled'); }
    if (e && e.name === 'InvalidStateError' && box.hasAttribute('data-t-exists')) { return box.getAttribute('data-t-exists'); }
    var key = e && codes[e.code];
    return box.getAttribute('data-t-' + (key || 'failed'));
  };
  var show = function (msg) {
    var p = $('#passkey-error');
    if (p) { p.textContent = msg; p.hidden = !msg; }
  };

  // ---- Sign-in page -------------------------------------------------------
  var box = $('#passkey');
  if (box) {
    box.hidden = false;
    var busy = false;
    var signIn = function (body, button) {
      if (busy) { return; }
      busy = true;
      button.disabled = true;
      show('');
      var begun = false;
      post('/api/v1/auth/passkey/begin', body).then(function (res) {
        if (!res.ok) { throw failure(res); }
        begun = true;
        return navigator.credentials.get({ publicKey: requestOptions(res.body.options.publicKey) }).then(function (cred) {
          return post('/api/v1/auth/passkey/finish', { ceremony_id: res.body.ceremony_id, credential: credentialJSON(cred) });
        });
      }).then(function (res) {
        if (!res.ok) { throw failure(res); }
        location.assign('/');
      }).catch(function (e) {
        busy = false;
        button.disabled = false;
        var codes = { rate_limited: 'rate' };
        if (!begun) { codes.invalid_credentials = 'credentials'; }
        show(explain(box, e, codes));
      });
    };
    var alone = $('#passkey-signin');
    alone.addEventListener('click', function () { signIn({}, alone); });
    var second = $('#passkey-second');
    if (second) {
      second.hidden = false;
      second.addEventListener('click', function () {
        var pw = $('#password');
        if (!pw.value) { show(box.getAttribute('data-t-password')); pw.focus(); return; }
        signIn({ email: $('#email').value, password: pw.value }, second);
      });
    }
  }

  // ---- Security page: add a passkey -----------------------------------------
  var form = $('#passkey-add');
  if (form) {
    form.hidden = false;
    var note = $('#passkey-unsupported');
    if (note) { note.hidden = true; }
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var button = $('#passkey-add-button'), pw = $('#passkey-password');
      button.disabled = true;
      show('');
      var begun = false;
      post('/api/v1/me/passkeys/register/begin', { password: pw.value }).then(function (res) {
        pw.value = '';
        if (!res.ok) { throw failure(res); }
        begun = true;
        return navigator.credentials.create({ publicKey: creationOptions(res.body.options.publicKey) }).then(function (cred) {
          return post('/api/v1/me/passkeys/register/finish',
            { ceremony_id: res.body.ceremony_id, name: $('#passkey-name').value, credential: credentialJSON(cred) });
        });
      }).then(function (res) {
        if (!res.ok) { throw failure(res); }
        location.assign('/account/security?done=added');
      }).catch(function (e) {
        button.disabled = false;
        var codes = { rate_limited: 'rate', passkey_limit: 'limit', passkey_exists: 'exists', invalid: 'name' };
        if (!begun) { codes.invalid_credentials = 'credentials'; }
        show(explain(form, e, codes));
      });
    });
  }
})();
