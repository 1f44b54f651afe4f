"""The book on a phone: every page at 390 px (a mobile viewport) in headless Chromium, through tests/test_site_browser.py's
DevTools harness. The page's title comes first, the chapter list opens from the menu button, the page's contents fold
under its title, and nothing (code, copy buttons, search results) leaves the screen sideways; no page logs an error."""
import pytest

from test_site_browser import BOOK, PAGES, PROBE, open_tab

PHONE = dict(width=390, height=844, mobile=True)
TITLE_WITHIN_PX = 200

SIDEBAR = r"""(function () {
  var nav = document.getElementById('sg-sidebar'), b = nav.getBoundingClientRect(), s = getComputedStyle(nav);
  return {shown: b.width > 0 && b.height > 0 && s.display !== 'none' && s.visibility !== 'hidden',
          left: b.left, right: b.right, top: b.top, bottom: b.bottom, links: nav.querySelectorAll('a').length,
          overflowY: s.overflowY, innerHeight: window.innerHeight,
          barBottom: document.querySelector('.sg-top').getBoundingClientRect().bottom,
          expanded: document.querySelector('.sg-menu').getAttribute('aria-expanded'),
          scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth};
})()"""

INLINE_TOC = r"""(function () {
  var d = document.querySelector('details.sg-toc-inline');
  if (!d) return null;
  var links = Array.from(d.querySelectorAll('a')).map(function (a) { var b = a.getBoundingClientRect();
    var visible = a.checkVisibility ? a.checkVisibility({visibilityProperty: true}) : true;   // a closed <details> hides
    return {href: a.getAttribute('href'), shown: visible && b.width > 0 && b.height > 0, left: b.left, right: b.right}; });
  return {open: d.open, links: links};
})()"""

RESULTS = r"""(function () {
  var box = document.getElementById('sg-results'), b = box.getBoundingClientRect();
  return {hidden: box.hidden, left: b.left, right: b.right, top: b.top, bottom: b.bottom,
          hits: box.querySelectorAll('a.sg-hit').length, innerWidth: window.innerWidth, innerHeight: window.innerHeight,
          scrollWidth: document.documentElement.scrollWidth};
})()"""

_cache = {}


def on_phone(page):
    "Load `page` at 390 px and use it: open and close the chapter list, unfold the contents, search. What each step showed."
    if page in _cache: return _cache[page]
    tab = open_tab(page, **PHONE)
    try:
        r = {'probe': tab.eval(PROBE)}
        r['menu_closed'] = tab.eval(SIDEBAR)
        tab.click('.sg-menu')
        r['menu_open'] = tab.eval(SIDEBAR)
        tab.key('Escape', keycode=27)
        r['menu_escaped'] = tab.eval(SIDEBAR)
        tab.click('.sg-menu'); tab.click('.sg-menu')
        r['menu_toggled_twice'] = tab.eval(SIDEBAR)
        r['toc_closed'] = tab.eval(INLINE_TOC)
        if r['toc_closed']:
            tab.eval("window.scrollTo(0, 0)")
            tab.click('details.sg-toc-inline > summary')
            r['toc_open'] = tab.eval(INLINE_TOC)
            tab.click('details.sg-toc-inline > summary')
        tab.eval("window.scrollTo(0, 0)")
        tab.click('#sg-q')
        tab.type('gradient')
        tab.wait_for("!document.getElementById('sg-results').hidden && "
                     "document.querySelectorAll('#sg-results a.sg-hit').length > 0")
        r['results'] = tab.eval(RESULTS)
        r['errors'] = tab.errors()
    finally:
        tab.close()
    _cache[page] = r
    return r


@pytest.mark.parametrize('page', PAGES)
def test_phone_page_starts_with_its_title(page):
    top = on_phone(page)['probe']['h1Top']
    assert top is not None and top <= TITLE_WITHIN_PX, f'{page}: the title starts {top}px down (at most {TITLE_WITHIN_PX})'


@pytest.mark.parametrize('page', PAGES)
def test_phone_menu_button_opens_and_closes_the_chapter_list(page):
    r = on_phone(page)
    closed, opened = r['menu_closed'], r['menu_open']
    assert r['probe']['menuShown'], f'{page}: no menu button on a phone'
    assert not closed['shown'] and closed['expanded'] == 'false', f'{page}: the chapter list shows before the button is used'
    assert opened['shown'] and opened['expanded'] == 'true', f'{page}: the menu button does not open the chapter list'
    assert opened['links'] >= len(BOOK), f'{page}: the open chapter list has {opened["links"]} links for {len(BOOK)} pages'
    assert opened['left'] >= 0 and opened['right'] <= opened['innerWidth'], f'{page}: the chapter list is off screen: {opened}'
    # below the top bar (not hidden under it) and no taller than the screen, scrolling inside: every chapter is reachable
    assert opened['barBottom'] - 1 <= opened['top'] < 100 and opened['bottom'] <= opened['innerHeight'] + 1, \
        f'{page}: the open chapter list does not fit between the top bar and the bottom of the screen: {opened}'
    assert opened['overflowY'] in ('auto', 'scroll'), f'{page}: the open chapter list cannot scroll'
    assert opened['scrollWidth'] <= opened['innerWidth'], f'{page}: the open chapter list widens the page'
    assert not r['menu_escaped']['shown'], f'{page}: Escape does not close the chapter list'
    assert not r['menu_toggled_twice']['shown'], f'{page}: a second press of the button does not close it'


@pytest.mark.parametrize('page', PAGES)
def test_phone_page_shows_its_own_contents_folded(page):
    r = on_phone(page)
    h2 = r['probe']['h2ids']
    if not h2:
        assert r['toc_closed'] is None; return
    closed, opened = r['toc_closed'], r['toc_open']
    assert r['probe']['inlineTocShown'], f'{page}: "On this page" is not shown on a phone'
    assert not r['probe']['tocShown'], f'{page}: the wide contents column shows on a phone'
    assert closed['open'] is False and not any(l['shown'] for l in closed['links']), f'{page}: the contents start unfolded'
    assert opened['open'] and [l['href'].lstrip('#') for l in opened['links']] == h2, \
        f'{page}: "On this page" does not list the H2 sections {h2}'
    assert all(l['shown'] and l['left'] >= 0 and l['right'] <= 390 for l in opened['links']), f'{page}: {opened}'


@pytest.mark.parametrize('page', PAGES)
def test_phone_nothing_leaves_the_screen_sideways(page):
    p = on_phone(page)['probe']
    assert p['scrollWidth'] <= p['innerWidth'], f'{page}: the page is {p["scrollWidth"]}px wide on a {p["innerWidth"]}px screen'
    assert not p['wide'] and not p['clipped'], (page, p['wide'][:3], p['clipped'][:3])
    # MathJax breaks long formulas at the column's width; one that cannot break must scroll in its own box
    assert all(m['scrolls'] for m in p['wideMath']), f'{page}: formulas cut off at the screen edge: {p["wideMath"][:3]}'
    assert p['copyButtons'] == p['editors'] and not p['copyOutside'], f'{page}: copy buttons off screen: {p["copyOutside"][:5]}'


@pytest.mark.parametrize('page', PAGES)
def test_phone_search_results_fit_the_screen(page):
    box = on_phone(page)['results']
    assert not box['hidden'] and box['hits'] > 0, f'{page}: searching "gradient" shows nothing'
    assert box['left'] >= 0 and box['right'] <= box['innerWidth'], f'{page}: the results run off the screen: {box}'
    assert box['bottom'] <= box['innerHeight'], f'{page}: the results box is taller than the screen: {box}'
    assert box['scrollWidth'] <= box['innerWidth'], f'{page}: the results widen the page'


@pytest.mark.parametrize('page', PAGES)
def test_phone_pages_log_no_errors(page):
    errors = on_phone(page)['errors']
    assert not errors, f'{page} logged {len(errors)} errors on a phone: {errors[:5]}'
