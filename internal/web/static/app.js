// sotto pages: small progressive enhancements. Every page works without
// this file; with it, the inbox updates live, keyboard shortcuts work and
// an idle session warns before it signs out. No framework, no build step.
(function () {
  'use strict';
  var body = document.body;
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  var t = function (key) { return body.getAttribute('data-t-' + key) || ''; };

  // The viewer's time zone, so that the server renders times in it.
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz) {
      document.cookie = 'sotto_tz=' + encodeURIComponent(tz) + '; path=/; SameSite=Strict' +
        (location.protocol === 'https:' ? '; Secure' : '');
    }
  } catch (e) { /* keep the server's default zone */ }

  // ---- Automatic logoff -------------------------------------------------
  var idle = parseInt(body.getAttribute('data-idle') || '0', 10);
  if (idle > 0 && $('#idle')) {
    // The server may record activity up to 30 s late: stay on the safe side.
    var deadline;
    var reset = function () { deadline = Date.now() + (idle - 30) * 1000; $('#idle').hidden = true; };
    var signOut = function () {
      var f = $('#logout-form');
      if (f) { f.submit(); } else { location.href = '/login'; }
    };
    reset();
    $('#idle-msg').textContent = $('#idle-msg').getAttribute('data-text') || t('idle');
    $('#idle-stay').addEventListener('click', function () {
      fetch('/api/v1/me', { credentials: 'same-origin', cache: 'no-store' }).then(function (r) {
        if (r.ok) { reset(); } else { location.href = '/login'; }
      }, function () { /* offline: keep counting */ });
    });
    setInterval(function () {
      var left = Math.ceil((deadline - Date.now()) / 1000);
      if (left <= 0) { signOut(); return; }
      if (left <= 60) {
        $('#idle-left').textContent = left + ' s';
        if ($('#idle').hidden) { $('#idle').hidden = false; $('#idle-stay').focus(); }
      }
    }, 1000);
  }

  // ---- Compose ----------------------------------------------------------
  var compose = $('#compose');
  if (compose) {
    var box = $('#body', compose), sw = $('#internal', compose), label = $('#compose-label', compose);
    var syncNote = function () {
      var on = sw.checked;
      compose.classList.toggle('internal', on);
      label.textContent = label.getAttribute(on ? 'data-internal' : 'data-public');
    };
    sw.addEventListener('change', syncNote);
    syncNote();
    var grow = function () { box.style.height = 'auto'; box.style.height = Math.min(box.scrollHeight + 2, window.innerHeight * 0.4) + 'px'; };
    box.addEventListener('input', grow);
    box.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        if (box.value.trim() !== '') { compose.requestSubmit(); }
      }
    });
    compose.addEventListener('submit', function () {
      // One send per render: the idempotency key makes a repeat harmless,
      // and the disabled button makes it rare.
      setTimeout(function () { $('#send', compose).disabled = true; }, 0);
    });
  }

  // ---- Keyboard shortcuts -----------------------------------------------
  var inbox = $('#inbox');
  if (inbox) {
    var typing = function (el) { return el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable); };
    var move = function (step) {
      var links = $$('#list a[data-conv]');
      if (!links.length) { return; }
      var i = links.indexOf(document.activeElement);
      if (i < 0) { i = links.indexOf($('#list .conv.active a')); }
      i = Math.max(0, Math.min(links.length - 1, i + step));
      links[i].focus();
    };
    var click = function (sel) { var b = $(sel); if (b) { b.click(); } };
    document.addEventListener('keydown', function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) { return; }
      switch (e.key) {
        case 'j': move(1); break;
        case 'k': move(-1); break;
        case 'r': if ($('#body')) { $('#body').focus(); } else { return; } break;
        case 'a': click('#assign-btn'); break;
        case 'e': click('#close-btn'); break;
        case '/': location.href = '/patients'; break;
        case '?': var d = $('#shortcuts'); if (d && !d.open) { d.showModal(); } break;
        default: return;
      }
      e.preventDefault();
    });
  }

  // ---- Patient portal ----------------------------------------------------
  // A form marked data-once sends once: its button is disabled on submit.
  $$('form[data-once]').forEach(function (f) {
    f.addEventListener('submit', function () {
      setTimeout(function () { $$('button[type="submit"]', f).forEach(function (b) { b.disabled = true; }); }, 0);
    });
  });
  // An open portal conversation refreshes its messages when an event about
  // it arrives (a reply, a receipt), keeping what is typed in the reply box.
  var pthread = $('#pthread[data-conv]');
  if (pthread && window.WebSocket) {
    var pconv = pthread.getAttribute('data-conv'), pseq = 0, pretry = 1000, pbusy = false, pagain = false;
    var prefresh = function () {
      if (pbusy) { pagain = true; return; }
      pbusy = true;
      fetch(location.pathname, { credentials: 'same-origin', cache: 'no-store' }).then(function (r) {
        return r.ok && !r.redirected ? r.text() : null;
      }).then(function (html) {
        var fresh = html && new DOMParser().parseFromString(html, 'text/html').getElementById('pmessages');
        var old = $('#pmessages');
        if (!fresh || !old) { return; }
        var seen = {};
        $$('.msg', old).forEach(function (n) { seen[n.id] = true; });
        var atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 48;
        old.replaceChildren.apply(old, Array.prototype.slice.call(fresh.children).map(function (n) { return document.importNode(n, true); }));
        var added = $$('.msg.in', old).filter(function (n) { return !seen[n.id]; });
        if (added.length) {
          added.forEach(function (n) { n.classList.add('fresh'); });
          var who = $('.sender', added[added.length - 1]);
          $('#live').textContent = t('new').replace('%s', who ? who.textContent : '');
          if (atBottom) { added[added.length - 1].scrollIntoView({ block: 'end' }); }
        }
      }, function () { /* offline: the next event retries */ }).then(function () {
        pbusy = false;
        if (pagain) { pagain = false; prefresh(); }
      });
    };
    var pconnect = function () {
      var ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/v1/events' + (pseq ? '?after=' + pseq : ''));
      ws.onopen = function () { pretry = 1000; body.setAttribute('data-live', 'on'); };
      ws.onmessage = function (msg) {
        var f;
        try { f = JSON.parse(msg.data); } catch (e) { return; }
        if (f.seq) { pseq = Math.max(pseq, f.seq); }
        if (f.type === 'reset' || (f.type === 'event' && f.event && f.event.conversation_id === pconv)) { prefresh(); }
      };
      ws.onclose = function (e) {
        body.setAttribute('data-live', 'off');
        if (e.code === 4001) { location.href = '/login'; return; }
        if (e.code === 4010) { pseq = 0; prefresh(); }
        setTimeout(pconnect, pretry);
        pretry = Math.min(pretry * 2, 30000);
      };
    };
    pconnect();
  }

  // ---- Live updates ------------------------------------------------------
  if (!inbox || !window.WebSocket) { return; }
  var thread = $('#thread[data-conv]');
  var convID = thread ? thread.getAttribute('data-conv') : '';
  var me = thread ? thread.getAttribute('data-me') : '';
  var live = $('#live');
  // Open a thread at its newest message, unless a link names one.
  if (thread && !location.hash) { thread.scrollTop = thread.scrollHeight; }
  var lastSeq = 0, retry = 1000, refreshTimer = null;

  var refreshList = function () {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      fetch(inbox.getAttribute('data-list'), { credentials: 'same-origin', cache: 'no-store' }).then(function (r) {
        if (r.redirected || !r.ok) { return null; }
        return r.text();
      }).then(function (html) {
        if (!html) { return; }
        var doc = new DOMParser().parseFromString(html, 'text/html');
        ['#queues', '#list'].forEach(function (sel) {
          var fresh = doc.querySelector(sel), old = $(sel);
          if (fresh && old) { old.replaceChildren.apply(old, Array.prototype.slice.call(fresh.childNodes).map(function (n) { return document.importNode(n, true); })); }
        });
        if (convID) {
          var a = $('#list a[data-conv="' + convID + '"]');
          if (a) { a.parentNode.classList.add('active'); a.setAttribute('aria-current', 'true'); }
        }
      }, function () { /* offline: the next event retries */ });
    }, 300);
  };

  var el = function (tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) { n.className = cls; }
    if (text !== undefined) { n.textContent = text; }
    return n;
  };
  var isStaff = function (role) { return role !== 'patient' && role !== 'proxy'; };
  var senderName = function (m) {
    var prev = $('#messages li[data-sender="' + m.sender_id + '"] .sender');
    if (prev) { return prev.textContent; }
    return isStaff(m.sender_role) ? t('staff') : t('patient');
  };
  var msgNode = function (m) {
    var staff = isStaff(m.sender_role);
    var li = el('li', 'msg ' + (staff ? 'out' : 'in') + (m.internal ? ' note' : '') + (m.retracted_at ? ' retracted' : '') + ' fresh');
    li.id = 'm-' + m.id;
    li.setAttribute('data-id', m.id);
    li.setAttribute('data-sender', m.sender_id);
    var b = el('div', 'bubble');
    if (m.internal) { b.appendChild(el('p', 'note-label', t('note'))); }
    var meta = el('p', 'meta');
    meta.appendChild(el('span', 'sender', senderName(m)));
    meta.appendChild(document.createTextNode(' '));
    var when = new Date(m.created_at);
    var tm = el('time', '', when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false }));
    tm.setAttribute('datetime', m.created_at);
    tm.title = when.toLocaleString();
    meta.appendChild(tm);
    b.appendChild(meta);
    var text = el('p', 'body');
    if (m.retracted_at) { text.appendChild(el('em', '', t('retracted'))); } else { text.textContent = m.body; }
    b.appendChild(text);
    if (m.attachment_ids && m.attachment_ids.length) {
      var ul = el('ul', 'files');
      m.attachment_ids.forEach(function (id, i) {
        var a = el('a', '', t('attachment') + ' ' + (i + 1));
        a.href = '/api/v1/attachments/' + encodeURIComponent(id);
        var item = el('li');
        item.appendChild(a);
        ul.appendChild(item);
      });
      b.appendChild(ul);
    }
    if (staff && !m.internal) { b.appendChild(el('p', 'receipt', t('sent'))); }
    li.appendChild(b);
    return li;
  };

  var fetching = false, again = false;
  var fetchThread = function () {
    if (fetching) { again = true; return; }
    fetching = true;
    fetch('/api/v1/conversations/' + encodeURIComponent(convID) + '/messages?limit=50', { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var list = $('#messages');
        var empty = $('li.empty', list);
        var added = [];
        data.messages.slice().reverse().forEach(function (m) {
          var old = document.getElementById('m-' + m.id);
          if (old) {
            if (m.retracted_at && !old.classList.contains('retracted')) { old.replaceWith(msgNode(m)); }
            return;
          }
          if (empty) { empty.remove(); empty = null; }
          // Appending below keeps what the reader sees in place; follow
          // only a reader who was already at the bottom.
          var atBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 48;
          list.appendChild(msgNode(m));
          if (atBottom) { thread.scrollTop = thread.scrollHeight; }
          if (m.sender_id !== me) { added.push(m); }
        });
        if (added.length) {
          live.textContent = t('new').replace('%s', senderName(added[added.length - 1]));
          fetch('/inbox/c/' + encodeURIComponent(convID) + '/read', { method: 'POST', credentials: 'same-origin' }).then(refreshList, function () {});
        }
      }, function () {})
      .then(function () {
        fetching = false;
        if (again) { again = false; fetchThread(); }
      });
  };

  var connect = function () {
    var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/v1/events' + (lastSeq ? '?after=' + lastSeq : '');
    var ws = new WebSocket(url);
    ws.onopen = function () { retry = 1000; body.setAttribute('data-live', 'on'); };
    ws.onmessage = function (msg) {
      var f;
      try { f = JSON.parse(msg.data); } catch (e) { return; }
      if (f.seq) { lastSeq = Math.max(lastSeq, f.seq); }
      if (f.type === 'reset') { lastSeq = 0; refreshList(); return; }
      if (f.type !== 'event' || !f.event) { return; }
      var ev = f.event;
      if (convID && ev.conversation_id === convID && (ev.kind === 'message.created' || ev.kind === 'message.retracted')) { fetchThread(); }
      if (ev.kind === 'message.created' || ev.kind.indexOf('conversation.') === 0) { refreshList(); }
    };
    ws.onclose = function (e) {
      body.setAttribute('data-live', 'off');
      if (e.code === 4001) { location.href = '/login'; return; }
      if (e.code === 4010) { lastSeq = 0; refreshList(); }
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  };
  connect();
}());
