//! `page-worker` (goal 1): the page hands an article to the worker over a
//! `MessageChannel` and shows its answer.
//!
//! The answer must be the worker's own, on the port: the network is off
//! while the form is first submitted, so no delivery can report "Sent" instead
//! (a page that never started its port would otherwise seem to work once
//! the later checkpoints' code tells every page about each delivery). And
//! the page must reach the worker from a page it does not control too (a
//! first visit, a Shift+Reload), and the worker must answer every message,
//! one it cannot read included.

use std::time::Duration;

use anyhow::Result;
use serde_json::Value;

use super::context::Ctx;
use super::failed::failed;
use super::page::{UI, submit_article, wait_list};
use crate::browsers::{Browser, PageId};

/// How long the worker's answer may take: it stores the article and
/// answers, with nothing to wait for but its own start.
const ANSWER: Duration = Duration::from_secs(5);

/// Said when no answer came: what keeps one from reaching the page.
const NO_ANSWER: &str = " — no answer reached the page: a port delivers nothing until it is started \
     (setting its `onmessage` starts it, `addEventListener` does not), and the worker answers on \
     the port that came with the message";

pub(super) async fn page_worker<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.ready().await?;
    let headline = cx.headline("the page asks the worker");
    cx.network_off().await?;
    let answered = ask(cx, tab, &headline, "").await;
    cx.network_on().await?;
    answered?;

    // A page the worker does not control: `navigator.serviceWorker.controller`
    // is null, yet the registration's active worker is there to ask.
    cx.browser.hard_reload(tab).await?;
    let uncontrolled = cx
        .browser
        .eval(tab, "navigator.serviceWorker.controller === null", UI)
        .await?
        == Value::Bool(true);
    if uncontrolled {
        wait_list(&mut cx.browser, tab, 1).await?;
        // Online: whether this page reaches the worker at all is the
        // question here (the port was proven above), and a worker that
        // controls no page may not be running to be taken offline.
        let headline = cx.headline("asked from a page the worker does not control");
        ask(
            cx,
            tab,
            &headline,
            " from a page the worker does not control (a first visit, or after Shift+Reload: \
             `navigator.serviceWorker.controller` is null there, and `ready` gives the active worker)",
        )
        .await?;
        // Controlled again, for the checkpoints after this one.
        cx.browser.reload(tab).await?;
    }
    always_answers(cx, tab).await
}

/// Submits `headline` and fails unless the worker's answer, "Queued", is
/// shown within [`ANSWER`]; `from` says from what kind of page, if it
/// matters.
async fn ask<B: Browser>(cx: &mut Ctx<B>, tab: PageId, headline: &str, from: &str) -> Result<()> {
    let shown = submit_article(
        &mut cx.browser,
        tab,
        headline,
        "The Harness",
        ANSWER,
        NO_ANSWER,
    )
    .await;
    match shown {
        Err(error) if !from.is_empty() => Err(match error.downcast::<super::failed::Failed>() {
            Ok(f) => failed(format!("{}{from}", f.expected), f.seen),
            Err(error) => error,
        }),
        other => other.map(drop),
    }
}

/// What the page's worker answers, on a port of the harness's, to a message
/// it cannot read and to an article it must refuse (`null`: no answer
/// within 3 s).
const ASK_ODD_MESSAGES_JS: &str = "(async () => {
    const registration = await navigator.serviceWorker.ready;
    const ask = (message) => new Promise((resolve) => {
        const channel = new MessageChannel();
        const timer = setTimeout(() => resolve(null), 3000);
        channel.port1.onmessage = (event) => { clearTimeout(timer); resolve(event.data); };
        registration.active.postMessage(message, [channel.port2]);
    });
    return {
        unknown: await ask({ type: 'harness-no-such-message' }),
        invalid: await ask({ type: 'add-article',
            article: { id: crypto.randomUUID(), headline: '', byline: 'The Harness' } }),
    };
})()";

/// Fails unless the worker answers a message it cannot read, and an
/// article with no headline, with an error: a page that asked waits for an
/// answer, whatever it sent.
async fn always_answers<B: Browser>(cx: &mut Ctx<B>, tab: PageId) -> Result<()> {
    let answers = cx.browser.eval(tab, ASK_ODD_MESSAGES_JS, UI).await?;
    for (key, expected) in [
        (
            "unknown",
            "the worker to answer a message it cannot read (`{type: \"harness-no-such-message\"}`) on the port that came with it, with `{type: \"error\"}`: the page that asked waits for an answer",
        ),
        (
            "invalid",
            "the worker to refuse an article with an empty headline (`ArticleDraft::validate`), answering `{type: \"error\"}` on the port that came with it",
        ),
    ] {
        let answer = &answers[key];
        if answer["type"] != "error" {
            return Err(failed(
                expected,
                match answer {
                    Value::Null => "no answer within 3 s".to_owned(),
                    other => format!("the answer {other}"),
                },
            ));
        }
    }
    Ok(())
}
