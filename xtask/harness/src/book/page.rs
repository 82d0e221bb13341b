//! Opening the book's pages in a tab, and what the parts of the test wait
//! for.

use std::time::Duration;

use anyhow::Result;

use crate::browsers::{Browser, PageId, js_str, truthy};

/// The longest a page, a worker or a slide may take to do what is awaited.
pub const WAIT: Duration = Duration::from_secs(20);

/// Opens `url` in the tab and waits for it to load. A new fragment on the
/// same page is only a scroll to the browser: then the page is reloaded
/// too, since the slides read their fragment when the page loads.
pub async fn navigate<B: Browser>(b: &mut B, tab: PageId, url: &str) -> Result<()> {
    let go = format!(
        "(() => {{ const url = new URL({url}, location.href);
           const same = url.origin === location.origin && url.pathname === location.pathname && url.search === location.search;
           window.leavingForTest = true;
           location.assign(url.href);
           if (same && url.hash) {{ location.reload(); }}
           return true; }})()",
        url = js_str(url)
    );
    b.eval(tab, &go, WAIT).await?;
    let loaded = format!(
        "!window.leavingForTest && location.href === new URL({}, location.href).href && document.readyState === 'complete'",
        js_str(url)
    );
    b.wait_until(tab, &loaded, &format!("{url} to load"), WAIT)
        .await
        .map(drop)
}

/// Whether `expression` is truthy in the tab now.
pub async fn truthy_eval<B: Browser>(b: &mut B, tab: PageId, expression: &str) -> Result<bool> {
    Ok(truthy(&b.eval(tab, expression, WAIT).await?))
}
