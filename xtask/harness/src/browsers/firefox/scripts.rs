//! The JavaScript the driver runs in Firefox: in the tabs, to take them
//! offline where the browser cannot, and to read the notifications shown; in
//! Firefox's own windows (over Marionette), to click a notification.

/// Offline from the page's side, where the browser has no
/// `emulation.setNetworkConditions`: in a document loaded while offline (a
/// preload script runs it before the page's own scripts)…
pub(super) const OFFLINE_PRELOAD: &str = "() => { Object.defineProperty(navigator, 'onLine', \
     { configurable: true, get: () => false }); }";
/// …and in an open tab, which is also told, as a browser tells it.
pub(super) const GO_OFFLINE: &str =
    "(() => { if (Object.getOwnPropertyDescriptor(navigator, 'onLine')) return false;
    Object.defineProperty(navigator, 'onLine', { configurable: true, get: () => false });
    window.dispatchEvent(new Event('offline')); return true; })()";
pub(super) const GO_ONLINE: &str =
    "(() => { if (!Object.getOwnPropertyDescriptor(navigator, 'onLine')) return false;
    delete navigator.onLine;
    window.dispatchEvent(new Event('online')); return true; })()";

/// With `emulation.setNetworkConditions`, before the network comes back: a
/// tab that reads offline listens for the `online` event the browser owes
/// it…
pub(super) const HEAR_ONLINE: &str = "(() => { if (navigator.onLine) return false;
    const heard = { online: false };
    window.addEventListener('online', () => { heard.online = true; }, { once: true, capture: true });
    window.__harnessOnline = heard; return true; })()";
/// …and after, if the browser said nothing although `navigator.onLine` is
/// true now, is told, as a browser tells a page whose network came back.
/// Firefox 153 fires no `online` in a document loaded while the emulation was
/// offline (its `navigator.onLine` turns true all the same); a document
/// loaded online does get it, and is left alone.
pub(super) const TELL_ONLINE: &str = "(async () => { const heard = window.__harnessOnline;
    delete window.__harnessOnline;
    if (!heard || heard.online || !navigator.onLine) return false;
    await new Promise(resolve => setTimeout(resolve, 50));
    if (heard.online) return false;
    window.dispatchEvent(new Event('online')); return true; })()";

pub(super) const NOTIFICATIONS_JS: &str = "(async () => {
    const r = await navigator.serviceWorker.getRegistration('/');
    if (!r) return [];
    return (await r.getNotifications()).map(n => [n.title, n.body, n.tag]);
})()";

/// Run over Marionette in the chrome context with the notification's title:
/// finds its alert window and clicks it as a user would. With
/// `alerts.useSystemBackend` off, Firefox shows each notification in a
/// window of its own (chrome://global/content/alerts/alert.xhtml, window type
/// `alert:alert`, the title in `#alertTitleLabel`'s `value`), whose `click`
/// listener, added on `load`, tells the notification's owner — for a
/// service worker's notification, Firefox then fires `notificationclick`
/// with the right to focus or open a window. The click goes the way a
/// mouse's does: a `mousedown` and a `mouseup` synthesized at the alert's
/// centre, hit-tested there, from which Firefox makes the trusted `click`
/// itself — with the chrome-only `window.synthesizeMouseEvent` (Firefox 153
/// has no `windowUtils.sendMouseEvent` any more) or, in an older Firefox
/// without it, `windowUtils.sendMouseEvent` (as on ESR 140).
/// Returns `{clicked, titles}`: the titles showing, for a message.
pub(super) const CLICK_ALERT_JS: &str = "const [title] = arguments;
    const windows = [...Services.wm.getEnumerator('alert:alert')];
    const titleOf = w => w.document.getElementById('alertTitleLabel')?.getAttribute('value') ?? '';
    const titles = windows.map(titleOf);
    const alert = windows.find(w => titleOf(w) === title && w.document.readyState === 'complete');
    if (!alert) return { clicked: false, titles };
    const box = alert.document.getElementById('alertBox').getBoundingClientRect();
    const x = box.left + box.width / 2, y = box.top + box.height / 2;
    if (typeof alert.synthesizeMouseEvent === 'function') {
      alert.synthesizeMouseEvent('mousedown', x, y, { button: 0, clickCount: 1 });
      alert.synthesizeMouseEvent('mouseup', x, y, { button: 0, clickCount: 1 });
    } else {
      alert.windowUtils.sendMouseEvent('mousedown', x, y, 0, 1, 0);
      alert.windowUtils.sendMouseEvent('mouseup', x, y, 0, 1, 0);
    }
    return { clicked: true, titles };";
