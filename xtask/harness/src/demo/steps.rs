//! The demo script's steps, each as the guide words it: what the
//! instructor does, done through the browser, the DevTools protocol or
//! the server's process; what the guide says it shows, checked.

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};

use super::context::{Demo, WAIT, ensure_shown, rehearse, shown};
use super::guide::*;
use crate::app::{ARTICLE_ITEMS, CONNECTION_STATUS, NEW_ARTICLES_PATH, PUSH_STATUS, PUSH_TOGGLE};
use crate::browsers::{Browser, PageId, js_str};
use crate::checkpoints::page::add_article_by;
use crate::standins::autopush::PushEvent;
use crate::standins::proxy::{Outcome, http_get};
use crate::standins::push_service::{http_json, uuid};

/// What the demo writes as the byline of its articles.
const BYLINE: &str = "The Instructor";
/// How long the page may take to say the push service did not answer: its
/// 20 seconds, and some.
const NO_ANSWER: Duration = Duration::from_secs(30);

pub async fn play<B: Browser>(d: &mut Demo<B>, number: usize) -> Result<()> {
    match number {
        1 => the_app(d).await,
        2 => offline(d).await,
        3 => back_online(d).await,
        4 => every_page(d).await,
        5 => worker_stopped(d).await,
        6 => exactly_once(d).await,
        7 => another_browser(d).await,
        8 => push(d).await,
        _ => bail!("the demo has no step {number}"),
    }
}

/// The first tab, on the app.
fn first_tab<B: Browser>(d: &Demo<B>) -> Result<PageId> {
    d.tabs
        .first()
        .copied()
        .context("harness bug: no tab on the app yet")
}

/// Adds `headline` through the form and expects the worker's answer `said`.
async fn add<B: Browser>(d: &mut Demo<B>, tab: PageId, headline: &str, said: &str) -> Result<()> {
    let answer = add_article_by(&mut d.b, tab, headline, BYLINE).await?;
    ensure_shown(
        answer == said || d.has_shown(tab, said).await?,
        &format!("the status line to say \"{said}\" once the worker kept \"{headline}\""),
        answer,
    )
}

/// Step 1: an article added with the network up: queued, then delivered at once.
async fn the_app<B: Browser>(d: &mut Demo<B>) -> Result<()> {
    let tab = d.open_app().await?;
    d.close_notifications(tab).await?;
    let headline = d.headline("added with the network up");
    add(d, tab, &headline, QUEUED_1).await?;
    d.wait_status(tab, SENT_1).await?;
    d.wait_delivered(tab, &headline).await?;
    let waited = format!(
        "(window.demoSeen || []).some(t => t.includes({}) && t.includes({}))",
        js_str(&headline),
        js_str(WAITING)
    );
    ensure_shown(
        d.b.eval(tab, &waited, WAIT).await? == Value::Bool(true),
        &format!("the article at the top of the list marked \"{WAITING}\" before it was delivered"),
        d.list(tab).await?,
    )?;
    let top = d.list(tab).await?.first().cloned();
    ensure_shown(
        top.as_ref()
            .is_some_and(|(h, state)| *h == headline && state.is_empty()),
        "the article at the top of the list, delivered",
        top,
    )?;
    shown(&format!(
        "\"{QUEUED_1}\", the article on top \"{WAITING}\"; then \"{SENT_1}\", an ordinary item"
    ));
    d.wait_notification(tab, ADDED_1, &[headline]).await?;
    shown(&format!("a notification: \"{ADDED_1}\""));
    d.picture(tab, "app").await?;
    rehearse(
        "the permission prompt on that first click (the demo's browser allows notifications from the start)",
    );
    Ok(())
}

/// Step 2: offline: two articles wait in the outbox, and a reload shows them
/// still waiting.
async fn offline<B: Browser>(d: &mut Demo<B>) -> Result<()> {
    let tab = first_tab(d)?;
    d.b.set_offline(true).await?;
    let badge = format!(
        "document.querySelector({})?.textContent.trim() === {}",
        js_str(CONNECTION_STATUS),
        js_str(OFFLINE)
    );
    d.wait(tab, &badge, "the badge to say \"Offline\"").await?;
    shown(&format!("*Offline* ticked: the badge says \"{OFFLINE}\""));
    let first = d.headline("added offline");
    add(d, tab, &first, QUEUED_1).await?;
    let second = d.headline("added offline, too");
    add(d, tab, &second, QUEUED_2).await?;
    let waiting = vec![second.clone(), first.clone()];
    wait_top_waiting(d, tab, &waiting).await?;
    shown(&format!(
        "\"{QUEUED_1}\", \"{QUEUED_2}\": both at the top of the list, waiting"
    ));

    d.b.reload(tab).await?;
    d.record(tab).await?;
    d.wait(tab, &badge, "the badge to say \"Offline\" after the reload")
        .await?;
    wait_top_waiting(d, tab, &waiting).await?;
    let outbox = d.outbox(tab).await?;
    ensure_shown(
        outbox == [first.clone(), second.clone()],
        "the worker's outbox in IndexedDB (offline-news → outbox) to hold both, in the order added",
        &outbox,
    )?;
    let on_server = d.on_server(&[first.clone(), second.clone()]).await?;
    ensure_shown(
        on_server == [0, 0],
        "neither article on the server yet",
        on_server,
    )?;
    shown(
        "reloaded: both still at the top, waiting, read from the outbox in IndexedDB; the server has neither",
    );
    d.picture(tab, "offline").await?;
    rehearse("Application → IndexedDB → offline-news → outbox in DevTools");
    d.waiting = vec![first, second];
    Ok(())
}

/// Waits until the list's top items are `headlines`, in that order, each
/// waiting.
async fn wait_top_waiting<B: Browser>(
    d: &mut Demo<B>,
    tab: PageId,
    headlines: &[String],
) -> Result<()> {
    let js = format!(
        "(() => {{ const top = Array.from(document.querySelectorAll({items})).slice(0, {n});
           const want = {want};
           return top.length === want.length && top.every((li, i) =>
             li.dataset.state === 'waiting' && li.querySelector('.headline')?.textContent === want[i]); }})()",
        items = js_str(ARTICLE_ITEMS),
        n = headlines.len(),
        want = serde_json::to_string(headlines)?
    );
    d.wait(
        tab,
        &js,
        &format!("{headlines:?} at the top of the list, waiting"),
    )
    .await
}

/// Step 3: back online: the browser fires `sync` by itself, and both arrive.
async fn back_online<B: Browser>(d: &mut Demo<B>) -> Result<()> {
    let tab = first_tab(d)?;
    let waiting = std::mem::take(&mut d.waiting);
    let mark = d.b.mark();
    d.b.set_offline(false).await?;
    d.b.wait_service_event(mark, "backgroundSync", "Dispatched sync event", WAIT)
        .await
        .context("the browser to fire `sync` by itself once *Offline* was unticked")?;
    shown("*Offline* unticked: the browser fired `sync` by itself");
    for headline in &waiting {
        d.wait_delivered(tab, headline).await?;
    }
    d.wait_status(tab, SENT_2).await?;
    shown(&format!("the list updated, without a reload: \"{SENT_2}\""));
    d.wait_notification(tab, ADDED_2, &waiting).await?;
    shown(&format!("a notification: \"{ADDED_2}\""));
    d.picture(tab, "back-online").await?;
    Ok(())
}

/// Step 4: two windows, one sync: both lists update.
async fn every_page<B: Browser>(d: &mut Demo<B>) -> Result<()> {
    let tab = first_tab(d)?;
    let second = d.open_app().await?;
    d.b.set_offline(true).await?;
    let headline = d.headline("added in one window, seen in both");
    add(d, tab, &headline, QUEUED_1).await?;
    d.b.set_offline(false).await?;
    for page in [tab, second] {
        d.wait_delivered(page, &headline).await?;
    }
    shown("offline, an article added in one window; back online, one sync: both lists show it");
    let left = d.picture_half(tab, &headline).await?;
    let right = d.picture_half(second, &headline).await?;
    if let (Some(left), Some(right)) = (left, right) {
        d.compose_two(&left, &right, "every-page").await?;
    }
    Ok(())
}

/// Step 5: the server down, an article kept while the worker is stopped, then
/// delivered by a sync fired by hand. (Last of the steps that need a sync:
/// the failed one keeps its tag in the browser's backoff, minutes long.)
async fn worker_stopped<B: Browser>(d: &mut Demo<B>) -> Result<()> {
    let tab = first_tab(d)?;
    d.server.stop().await?;
    let since = d.proxy.api_requests().len();
    let headline = d.headline("added while the server was down");
    add(d, tab, &headline, QUEUED_1).await?;
    shown(&format!(
        "the server stopped, an article added: \"{QUEUED_1}\""
    ));
    let deadline = tokio::time::Instant::now() + WAIT;
    while !d
        .proxy
        .api_requests()
        .get(since..)
        .unwrap_or_default()
        .iter()
        .any(|seen| {
            seen.method == "POST"
                && seen.path.starts_with(ARTICLES)
                && seen.outcome == Outcome::ServerDown
        })
    {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "expected the browser to fire the sync at once (it is online) and the worker's POST to find no server; no such POST within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    shown("the browser fired the sync at once; the worker's POST found no server");
    d.b.stop_workers().await?;
    let outbox = d.outbox(tab).await?;
    ensure_shown(
        outbox == [headline.clone()],
        "the outbox in IndexedDB to hold the article while the worker is stopped",
        &outbox,
    )?;
    shown("*Stop*: the worker stopped, and the article is in the outbox in IndexedDB");
    d.picture(tab, "worker-stopped").await?;

    d.server.restart().await?;
    let on_server = d.on_server(std::slice::from_ref(&headline)).await?;
    ensure_shown(
        on_server == [0],
        "the article not on the server before the sync is fired",
        on_server,
    )?;
    let mark = d.b.mark();
    d.b.fire_sync(SYNC_TAG, false).await?;
    d.b.wait_service_event(mark, "backgroundSync", "Dispatched sync event", WAIT)
        .await?;
    d.wait_delivered(tab, &headline).await?;
    d.wait_status(tab, SENT_1).await?;
    shown(&format!(
        "the server started again, *Sync* with the tag `{SYNC_TAG}`: the worker started and delivered, \"{SENT_1}\""
    ));
    rehearse(
        "DevTools' *Stop* and *Sync* buttons (the demo uses the same commands over the DevTools protocol)",
    );
    Ok(())
}

/// Step 6: the API holds each article once, in the order added.
async fn exactly_once<B: Browser>(d: &mut Demo<B>) -> Result<()> {
    let tab = first_tab(d)?;
    let (status, body) = http_get(d.proxy.port, ARTICLES).await?;
    ensure!(status == 200, "GET {ARTICLES} answered {status}: {body}");
    let articles: Vec<Value> = serde_json::from_str(&body).context("GET /api/v1/articles")?;
    let headlines: Vec<&str> = articles
        .iter()
        .filter_map(|a| a["headline"].as_str())
        .collect();
    let positions: Vec<Vec<usize>> = d
        .added
        .iter()
        .map(|h| {
            headlines
                .iter()
                .enumerate()
                .filter(|(_, a)| *a == h)
                .map(|(i, _)| i)
                .collect()
        })
        .collect();
    ensure_shown(
        positions.iter().all(|p| p.len() == 1) && positions.windows(2).all(|w| w[0][0] < w[1][0]),
        &format!(
            "each of the demo's articles {:?} once in GET {ARTICLES}, oldest first",
            d.added
        ),
        &positions,
    )?;
    let listed: Vec<String> = d.list(tab).await?.into_iter().map(|(h, _)| h).collect();
    let ours: Vec<&String> = listed.iter().filter(|h| d.added.contains(h)).collect();
    let newest_first: Vec<&String> = d.added.iter().rev().collect();
    ensure_shown(
        ours == newest_first,
        "the page to list the same articles newest first",
        ours,
    )?;
    shown(&format!(
        "GET {ARTICLES}: each of the demo's {} articles once, oldest first; the page lists them newest first",
        d.added.len()
    ));
    Ok(())
}

/// Step 7: Firefox, with no Background Sync: the page's `online` event gets the
/// worker to send its outbox.
async fn another_browser<B: Browser>(d: &mut Demo<B>) -> Result<()> {
    let tab = first_tab(d)?;
    let sync =
        d.b.eval(
            tab,
            "navigator.serviceWorker.ready.then(r => 'sync' in r)",
            WAIT,
        )
        .await?;
    ensure_shown(
        sync == Value::Bool(false),
        "no `registration.sync` in Firefox",
        sync,
    )?;
    // *Work Offline*: nothing reachable, and the page told so.
    d.server.stop().await?;
    d.b.set_tab_offline(tab, true).await?;
    d.wait(tab, "navigator.onLine === false", "the page offline")
        .await?;
    let headline = d.headline("added in Firefox, offline");
    add(d, tab, &headline, QUEUED_1).await?;
    shown(&format!(
        "no `registration.sync`; offline, an article added: \"{QUEUED_1}\""
    ));
    d.server.restart().await?;
    d.b.set_tab_offline(tab, false).await?;
    d.wait_delivered(tab, &headline).await?;
    d.wait_status(tab, SENT_1).await?;
    shown(&format!(
        "back online, the page's `online` event told the worker, which sent its outbox: \"{SENT_1}\""
    ));
    rehearse("*File → Work Offline* (the demo takes the page offline and the server away instead)");
    Ok(())
}

/// Step 8: push: the button, then an article published from outside the page
/// with a fresh id.
async fn push<B: Browser>(d: &mut Demo<B>) -> Result<()> {
    let tab = first_tab(d)?;
    let shown_toggle = format!(
        "(() => {{ const b = document.querySelector({}); return !!b && !b.hidden; }})()",
        js_str(PUSH_TOGGLE)
    );
    d.wait(
        tab,
        &shown_toggle,
        "the \"Notify me of new articles\" button",
    )
    .await?;
    d.b.click(tab, PUSH_TOGGLE).await?;
    if d.autopush.is_none() {
        return no_push_service(d, tab).await;
    }
    let on = format!(
        "(document.querySelector({status})?.textContent ?? '').includes({on}) \
           && document.querySelector({toggle}).getAttribute('aria-pressed') === 'true'",
        status = js_str(PUSH_STATUS),
        on = js_str(PUSH_ON),
        toggle = js_str(PUSH_TOGGLE)
    );
    if let Err(error) = d
        .wait(tab, &on, &format!("the page to say \"{PUSH_ON}\""))
        .await
    {
        let status = d.b.text_of(tab, PUSH_STATUS).await?.unwrap_or_default();
        return Err(error.context(format!("{PUSH_STATUS} says {:?}", status.trim())));
    }
    shown(&format!("*Notify me of new articles*: \"{PUSH_ON}\""));
    d.close_notifications(tab).await?;
    // The app's tab in the background.
    let blank = d.b.open_page("about:blank").await?;
    let headline = d.headline("published from outside the page");
    let article = json!({ "id": uuid()?, "headline": headline, "byline": "Demo" });
    let pushed = push_count(d);
    let (status, body) = http_json(d.proxy.port, "POST", ARTICLES, &article).await?;
    ensure!(
        status == 201,
        "expected 201 for a new article, with a fresh id; got {status}: {body}"
    );
    d.wait_notification(tab, PUSH_TITLE, &[]).await?;
    shown(&format!(
        "a POST with a fresh id: 201, and a notification \"{PUSH_TITLE}\" with the app's tab in the background"
    ));
    // The same id again: stored once, nothing pushed.
    let again = push_count(d);
    let (status, body) = http_json(d.proxy.port, "POST", ARTICLES, &article).await?;
    ensure!(
        status == 200,
        "expected 200 for an article the server has; got {status}: {body}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    ensure!(
        push_count(d) == again && again > pushed,
        "expected one push for the new article and none for the same id again; the push service saw {} then {}",
        again - pushed,
        push_count(d) - again
    );
    shown("the same id again: 200, stored once, and no push: hence a fresh id each time");
    d.b.click_notification(PUSH_TITLE, WAIT).await?;
    d.wait(
        tab,
        &format!(
            "document.hasFocus() && location.pathname + location.hash === {}",
            js_str(NEW_ARTICLES_PATH)
        ),
        "a click on the notification to focus the app's tab, at the list",
    )
    .await?;
    let tabs = d.b.tab_urls().await?;
    ensure_shown(
        tabs.len() == 2,
        "no second tab of the app after the click",
        &tabs,
    )?;
    shown("a click on it focused the app's tab, at the list, and opened no other");
    d.b.close_page(blank).await?;
    rehearse("the system's notification and its click, in your browser, online");
    Ok(())
}

/// Headless Chromium has no push service: the page must say so, and what
/// it needs.
async fn no_push_service<B: Browser>(d: &mut Demo<B>, tab: PageId) -> Result<()> {
    let said = format!(
        "(document.querySelector({})?.textContent ?? '').startsWith({})",
        js_str(PUSH_STATUS),
        js_str(NO_PUSH_SERVICE)
    );
    d.b.wait_until(
        tab,
        &said,
        &format!("the page to say \"{NO_PUSH_SERVICE}…\""),
        NO_ANSWER,
    )
    .await?;
    let status = d.b.text_of(tab, PUSH_STATUS).await?.unwrap_or_default();
    ensure_shown(
        status.contains("internet"),
        "the status to say the push service is on the internet",
        &status,
    )?;
    let pressed = format!(
        "document.querySelector({}).getAttribute('aria-pressed')",
        js_str(PUSH_TOGGLE)
    );
    let off = d.b.eval(tab, &pressed, WAIT).await?;
    ensure_shown(off == json!("false"), "the button off again", off)?;
    shown(&format!(
        "no push service here: the page says \"{}\"",
        status.trim()
    ));
    // A fresh id is a new article, stored (and pushed, where someone is
    // subscribed); the same id again is not.
    let article = json!({ "id": uuid()?, "headline": d.headline("published from outside the page"), "byline": "Demo" });
    let (first, _) = http_json(d.proxy.port, "POST", ARTICLES, &article).await?;
    let (again, _) = http_json(d.proxy.port, "POST", ARTICLES, &article).await?;
    ensure_shown(
        first == 201 && again == 200,
        "201 for a fresh id, then 200 for the same id again",
        (first, again),
    )?;
    shown("a POST with a fresh id: 201; the same id again: 200, stored once (and no push)");
    rehearse(
        "subscribing, the push and its click, in your browser, online (`cargo xtask demo --browser firefox` plays them)",
    );
    Ok(())
}

/// How many pushes reached the harness's push service.
fn push_count<B: Browser>(d: &Demo<B>) -> usize {
    d.autopush.as_ref().map_or(0, |service| {
        service
            .events_since(0)
            .iter()
            .filter(|e| matches!(e, PushEvent::Push { status: 201, .. }))
            .count()
    })
}
