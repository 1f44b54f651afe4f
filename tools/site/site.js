// scratchgrad's book: offline search, the chapters menu of narrow screens, copy buttons on code cells, readable graphs.
// Plain browser JavaScript, no build step; copied to docs/assets/ by tools/build_docs.py.
(function () {
  'use strict';
  var ASSETS = window.SG_ASSETS || 'assets/';

  // ---- search: MiniSearch over window.SG_SEARCH_DOCS, both loaded on first use (they are scripts, so file:// works)
  var engine = null, loading = null;

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      s.src = src; s.onload = resolve;
      s.onerror = function () { reject(new Error('could not load ' + src)); };
      document.head.appendChild(s);
    });
  }

  function getEngine() {
    if (engine) return Promise.resolve(engine);
    if (!loading) loading = loadScript(ASSETS + 'vendor/minisearch/minisearch.js')
      .then(function () { return loadScript(ASSETS + 'search-index.js'); })
      .then(function () {
        engine = new window.MiniSearch({
          fields: ['section', 'page', 'text'], storeFields: ['url', 'page', 'section', 'text'],
          searchOptions: { boost: { section: 3, page: 2 }, prefix: true, fuzzy: 0.15 }
        });
        engine.addAll(window.SG_SEARCH_DOCS);
        return engine;
      });
    return loading;
  }

  function escapeHtml(s) {
    return s.replace(/[&<>"]/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]; });
  }

  // A result's snippet: about SNIPPET_LEN characters of its section around the first matched term, cut at spaces (never
  // mid-word) and marked with an ellipsis where the section goes on; the matched terms are highlighted.
  var SNIPPET_LEN = 180, SNIPPET_BEFORE = 60;

  function snippet(text, terms) {
    var low = text.toLowerCase(), at = -1;
    terms.forEach(function (t) { var i = low.indexOf(t.toLowerCase()); if (i >= 0 && (at < 0 || i < at)) at = i; });
    var start = Math.max(0, at - SNIPPET_BEFORE), end = Math.min(text.length, start + SNIPPET_LEN);
    if (start > 0 && !/\s/.test(text.charAt(start - 1))) {   // move forward to the next word, but not past the match
      var sp = text.slice(start, at > start ? at : end).search(/\s/);
      if (sp >= 0) start += sp + 1;
    }
    if (end < text.length && !/\s/.test(text.charAt(end))) {   // move back to the end of the last whole word
      var back = text.slice(start, end).search(/\s\S*$/);
      if (back > 0 && start + back > at) end = start + back;
    }
    var piece = text.slice(start, end).trim();
    return (start > 0 ? '… ' : '') + highlight(piece, terms) + (end < text.length ? ' …' : '');
  }

  function highlight(text, terms) {   // escape `text` for HTML, with each term in <mark> (marks never cut an entity)
    var words = terms.filter(function (t) { return t.length > 1; }).sort(function (a, b) { return b.length - a.length; });
    if (!words.length) return escapeHtml(text);
    var re = new RegExp(words.map(function (t) { return t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }).join('|'), 'ig');
    var out = '', last = 0, m;
    while ((m = re.exec(text)) !== null) {
      out += escapeHtml(text.slice(last, m.index)) + '<mark>' + escapeHtml(m[0]) + '</mark>';
      last = m.index + m[0].length;
      if (!m[0].length) re.lastIndex++;
    }
    return out + escapeHtml(text.slice(last));
  }
  window.sgSnippet = snippet;   // for tests/test_site_browser.py

  function render(box, query, hits) {
    if (!hits.length) { box.innerHTML = '<div class="sg-r-none">No section mentions “' + escapeHtml(query) + '”.</div>'; return; }
    box.innerHTML = hits.slice(0, 12).map(function (h) {
      var sec = h.section && h.section !== h.page ? ' <span class="sg-r-sec">› ' + escapeHtml(h.section) + '</span>' : '';
      return '<a class="sg-hit" href="' + escapeHtml(h.url) + '"><span class="sg-r-page">' + escapeHtml(h.page) + '</span>' +
        sec + '<span class="sg-r-snip">' + snippet(h.text, h.terms) + '</span></a>';
    }).join('');
  }

  function search(query) {
    var box = document.getElementById('sg-results');
    query = query.trim();
    if (!query) { box.hidden = true; box.innerHTML = ''; return Promise.resolve(); }
    return getEngine().then(function (ms) {
      render(box, query, ms.search(query));
      box.hidden = false;
      box.setAttribute('data-query', query);
    }).catch(function (e) { box.hidden = false; box.textContent = 'Search is unavailable: ' + e.message; });
  }

  function setupSearch() {
    var input = document.getElementById('sg-q'), box = document.getElementById('sg-results');
    if (!input) return;
    input.addEventListener('input', function () { search(input.value); });
    input.addEventListener('focus', function () { getEngine(); if (input.value) search(input.value); });
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Escape') { box.hidden = true; input.blur(); }
      if (e.key === 'Enter') { var first = box.querySelector('a'); if (first) window.location.href = first.href; }
      if (e.key === 'ArrowDown') { var a = box.querySelector('a'); if (a) { e.preventDefault(); a.focus(); } }
    });
    box.addEventListener('keydown', function (e) {   // arrow keys walk the results; Escape goes back to typing
      var hits = Array.from(box.querySelectorAll('a')), i = hits.indexOf(document.activeElement);
      if (e.key === 'ArrowDown' && i + 1 < hits.length) { e.preventDefault(); hits[i + 1].focus(); }
      if (e.key === 'ArrowUp') { e.preventDefault(); (i > 0 ? hits[i - 1] : input).focus(); }
      if (e.key === 'Escape') input.focus();
    });
    document.addEventListener('click', function (e) { if (!e.target.closest('.sg-search')) box.hidden = true; });
    document.addEventListener('keydown', function (e) {
      if (e.key === '/' && document.activeElement !== input) { e.preventDefault(); input.focus(); }
    });
    var q = new URLSearchParams(window.location.search).get('q');   // page.html?q=word opens with its results
    if (q) { input.value = q; search(q); }
  }

  // ---- narrow screens: the chapter list folds behind the menu button of the top bar (site.css, below 800 px)
  function setupMenu() {
    var button = document.querySelector('.sg-menu'), nav = document.getElementById('sg-sidebar'), root = document.documentElement;
    if (!button || !nav) return;
    function show(open) {
      root.classList.toggle('sg-menu-open', open);
      button.setAttribute('aria-expanded', open ? 'true' : 'false');
    }
    button.addEventListener('click', function (e) {
      e.stopPropagation();
      show(!root.classList.contains('sg-menu-open'));
      if (!root.classList.contains('sg-menu-open')) return;
      var here = nav.querySelector('.sg-here a') || nav.querySelector('a');   // focus the current chapter, in view
      if (here) { here.focus({ preventScroll: true }); if (nav.querySelector('.sg-here')) nav.querySelector('.sg-here').scrollIntoView({ block: 'nearest' }); }
    });
    nav.addEventListener('click', function (e) { if (e.target.closest('a')) show(false); });
    document.addEventListener('click', function (e) {
      if (root.classList.contains('sg-menu-open') && !e.target.closest('#sg-sidebar')) show(false);
    });
    document.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && root.classList.contains('sg-menu-open')) { show(false); button.focus(); }
    });
  }

  // ---- the folded "On this page" list of narrow screens closes once a section is chosen
  function setupInlineToc() {
    document.querySelectorAll('details.sg-toc-inline').forEach(function (d) {
      d.addEventListener('click', function (e) { if (e.target.closest('a')) d.open = false; });
    });
  }

  // ---- a copy button on every code cell
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    var t = document.createElement('textarea');
    t.value = text; document.body.appendChild(t); t.select();
    try { document.execCommand('copy'); } finally { document.body.removeChild(t); }
    return Promise.resolve();
  }

  function setupCopyButtons() {
    document.querySelectorAll('.jp-InputArea-editor').forEach(function (editor) {
      var pre = editor.querySelector('pre');
      if (!pre) return;
      var b = document.createElement('button');
      b.type = 'button'; b.className = 'sg-copy'; b.textContent = 'Copy'; b.title = 'Copy this code';
      b.addEventListener('click', function () {
        copyText(pre.innerText.replace(/\n$/, '')).then(function () {
          b.textContent = 'Copied'; b.classList.add('sg-done');
          setTimeout(function () { b.textContent = 'Copy'; b.classList.remove('sg-done'); }, 1500);
        });
      });
      editor.appendChild(b);
    });
  }

  // ---- graphs: natural size by default (CSS). Here each drawing gets the width at which its smallest label is
  // readable: shrunk to the column when that keeps labels >= MIN_LABEL_PX, enlarged (and scrolled sideways) when even
  // its natural size would not (Graphviz's `size` attribute draws big graphs at scale(s) < 1 inside the SVG).
  var MIN_LABEL_PX = 11;

  function labelPxPerCssPx(img) {   // smallest label height, in CSS px, per CSS px of rendered width
    var svg;
    try { svg = atob(img.src.split(',')[1]); } catch (e) { return null; }
    var sizes = (svg.match(/font-size="([\d.]+)"/g) || []).map(function (m) { return parseFloat(m.slice(11)); });
    var vb = svg.match(/viewBox="[\d.\-]+ [\d.\-]+ ([\d.]+) /);
    var scale = svg.match(/class="graph" transform="scale\(([\d.]+)/);
    if (!sizes.length || !vb) return null;
    return Math.min.apply(null, sizes) * (scale ? parseFloat(scale[1]) : 1) / parseFloat(vb[1]);
  }

  function fitGraph(img) {
    var column = img.parentElement.clientWidth, natural = img.naturalWidth, k = labelPxPerCssPx(img);
    if (!natural || !k) return;
    var readable = MIN_LABEL_PX / k;   // the narrowest width with readable labels
    img.style.width = Math.ceil(Math.max(Math.min(natural, column), readable)) + 'px';
  }

  function setupGraphs() {
    document.querySelectorAll('img.sg-graph').forEach(function (img) {
      if (img.complete) fitGraph(img); else img.addEventListener('load', function () { fitGraph(img); });
    });
  }

  // ---- a code cell marked `#| answer` contains an exercise's answer: its code starts folded, one click away.
  function setupAnswers() {
    document.querySelectorAll('.celltag_sg-answer .jp-Cell-inputWrapper').forEach(function (input) {
      var d = document.createElement('details'), s = document.createElement('summary');
      d.className = 'sg-answer'; s.textContent = 'Show the code (it contains the answer)';
      input.parentNode.insertBefore(d, input); d.appendChild(s); d.appendChild(input);
    });
  }

  function start() { setupAnswers(); setupSearch(); setupMenu(); setupInlineToc(); setupCopyButtons(); setupGraphs(); }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
