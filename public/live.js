// Live updates (issue 18): the page listens to GET /events (src/live/routes.ts) and
// - on "cases" (the ids of cases that changed, here or on another instance): fetches each such
//   row shown on the overview, with the tiles (GET /cases/:number/row), or the tiles alone when
//   none is shown (GET /cases/tiles), with the page's own query so its active tile stays marked;
// - on "bell": fetches the bell (GET /notifications/bell);
// - on "resync" (too much changed, or the server lost its own feed for a while): refreshes every
//   row shown, the tiles and the bell.
// - when changed cases not shown on the page make the active tile's count grow (a new mail, a
//   case given to the user), says so above the list with a link that shows it as it is now; the
//   list itself is not rebuilt under the user.
// A row whose picker has the focus, or that has a box ticked for a bulk change in it, is not
// swapped under the user: it is marked and fetched when the focus leaves it. The browser
// reconnects by itself after a drop and sends the id of the last event it had; the server then
// says what changed since.
(() => {
  if (!window.EventSource || !window.htmx) return;
  const pending = new Map();
  let queued = null;

  const rowOf = (id) => document.getElementById(`case-row-${id}`);
  const numberOf = (tr) => tr.cells[0]?.querySelector('a')?.textContent?.trim() ?? '';
  const busy = (tr) => tr.contains(document.activeElement) && document.activeElement !== document.body;

  function refreshRow(tr) {
    if (busy(tr)) {
      tr.dataset.stale = '1';
      return;
    }
    const number = numberOf(tr);
    if (!number) return;
    // bulk.js gives the new row its box again, ticked while its case stays selected
    htmx.ajax('GET', `/cases/${encodeURIComponent(number)}/row${location.search}`, { target: tr, swap: 'outerHTML' });
  }

  function refreshTiles() {
    if (!document.getElementById('tiles')) return;
    htmx.ajax('GET', `/cases/tiles${location.search}`, { target: '#tiles', swap: 'outerHTML' });
  }

  // Changes come in bursts (a bulk change, a mail with attachments): one round of fetches per
  // moment, not one per event.
  function flush() {
    queued = null;
    const ids = [...pending.keys()];
    const versions = new Map(pending);
    pending.clear();
    const shown = ids.map(rowOf).filter(Boolean);
    // cases not on the page: if the active tile grows with the tiles fetched now, they belong here
    if (shown.length < ids.length) countBefore ??= activeCount();
    let fetched = 0;
    for (const tr of shown) {
      // the user's own edit answered with this very version a moment ago: nothing new to fetch
      const version = versions.get(tr.id.replace('case-row-', ''));
      const justSwapped = Date.now() - (swappedAt.get(tr.id) ?? 0) < 3000;
      if (justSwapped && version !== undefined && Number(tr.dataset.v) >= version) continue;
      refreshRow(tr);
      fetched++;
    }
    // the tiles come with each row; with none fetched they may still have changed
    if (!fetched) refreshTiles();
  }
  // ids as strings; the version each case has now, when the event says it
  function queue(ids, versions) {
    for (const [i, id] of ids.entries()) pending.set(String(id), versions?.[i]);
    if (!queued) queued = setTimeout(flush, 150);
  }
  // The active tile's count (null without one), and its value before changes not on the page.
  let countBefore = null;
  const activeCount = () => {
    const text = document.querySelector('#tiles .tile.active .tile-count')?.textContent;
    return text && /^\d+$/.test(text.trim()) ? Number(text) : null;
  };
  function tilesSwapped() {
    if (countBefore === null) return;
    const now = activeCount();
    const grew = now !== null && now > countBefore;
    countBefore = null;
    const note = document.getElementById('live-new');
    if (!grew || !note || note.firstChild) return;
    const link = document.createElement('a');
    link.href = note.dataset.href || location.href;
    link.textContent = note.dataset.text || '';
    note.append(link);
  }
  document.addEventListener('htmx:oobAfterSwap', (event) => {
    if (event.detail?.target?.id === 'tiles') tilesSwapped();
  });
  const swappedAt = new Map();
  document.addEventListener('htmx:afterSwap', (event) => {
    const target = event.detail?.target;
    if (target?.id === 'tiles') tilesSwapped();
    if (target instanceof HTMLTableRowElement && target.id) swappedAt.set(target.id, Date.now());
    const row = event.detail?.elt?.closest?.('tr[id^="case-row-"]');
    if (row) swappedAt.set(row.id, Date.now());
  });

  function refreshBell() {
    if (!document.getElementById('bell')) return;
    htmx.ajax('GET', '/notifications/bell', { target: '#bell', swap: 'outerHTML' });
  }

  const source = new EventSource('/events');
  source.addEventListener('cases', (event) => {
    try {
      const data = JSON.parse(event.data);
      if (Array.isArray(data)) queue(data);
      else queue(data.ids ?? [], data.versions);
    } catch {
      /* not a list: nothing to fetch */
    }
  });
  source.addEventListener('bell', refreshBell);
  source.addEventListener('resync', () => {
    queue([...document.querySelectorAll('tr[id^="case-row-"]')].map((tr) => tr.id.replace('case-row-', '')));
    if (!document.querySelector('tr[id^="case-row-"]')) refreshTiles();
    refreshBell();
  });
  // a row left alone while it was being edited catches up when the focus leaves it
  document.addEventListener('focusout', () => {
    setTimeout(() => {
      for (const tr of document.querySelectorAll('tr[data-stale]')) {
        if (busy(tr)) continue;
        delete tr.dataset.stale;
        refreshRow(tr);
      }
    }, 0);
  });
  window.addEventListener('pagehide', () => source.close());
})();
