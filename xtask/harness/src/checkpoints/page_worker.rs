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
use super::worker_spy::{self, Notifications};
use crate::app::{BYLINE_INPUT, FORM_STATUS, HEADLINE_INPUT, SUBMIT};
use crate::browsers::{Browser, PageId, js_str};

/// How long the worker's answer may take: it stores the article and
/// answers, with nothing to wait for but its own start.
const ANSWER: Duration = Duration::from_secs(5);

/// Said when no answer came: what keeps one from reaching the page.
const NO_ANSWER: &str = " — no answer reached the page: a port delivers nothing until it is started \
     (setting its `onmessage` starts it, `addEventListener` does not), and the worker answers on \
     the port that came with the message, before it asks for delivery (with the network off, \
     a delivery fails)";

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
    always_answers(cx, tab).await?;
    answered_before_delivery(cx, tab).await?;
    a_failure_is_said(cx, tab).await
}

/// Where the harness can watch the worker (Chromium, with a spy): fails
/// unless the worker answers "queued" before it asks for delivery. The
/// article is safe once stored; asking for a `sync` is more waiting for
/// the page, and where there is no Background Sync, asking is delivering.
async fn answered_before_delivery<B: Browser>(cx: &mut Ctx<B>, tab: PageId) -> Result<()> {
    if !worker_spy::install(cx, Notifications::ShowSlowly(0)).await? {
        return Ok(());
    }
    let headline = cx.headline("answered before delivery is asked for");
    ask(cx, tab, &headline, "").await?;
    let record = worker_spy::wait_for(cx, ANSWER, |record| {
        at_of(record, "register ").is_some() && at_of(record, "answer queued").is_some()
    })
    .await?;
    worker_spy::remove(cx).await?;
    // A worker restarted meanwhile took the spy with it: nothing to judge.
    let Some(record) = record else { return Ok(()) };
    match (at_of(&record, "answer queued"), at_of(&record, "register ")) {
        (Some(answered), Some(registered)) if registered < answered => Err(failed(
            "the worker to answer \"queued\" on the port first, then ask for delivery (`request_delivery`): the page waits for the answer, and the article is safe once stored",
            "it asked for a `sync` (`SyncManager.register`) before it answered",
        )),
        _ => Ok(()),
    }
}

/// When the spy first recorded an event starting with `what`.
fn at_of(record: &Value, what: &str) -> Option<u64> {
    record["events"]
        .as_array()?
        .iter()
        .find(|e| e["what"].as_str().is_some_and(|w| w.starts_with(what)))
        .and_then(|e| e["at"].as_u64())
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

/// Makes the page's next `postMessage` of an article to its worker throw,
/// as when the worker cannot be reached: the page's ask fails at once.
const FAIL_NEXT_ASK_JS: &str = "(() => {
    const post = ServiceWorker.prototype.postMessage;
    ServiceWorker.prototype.postMessage = function (message, ...rest) {
        if (message && message.type === 'add-article') {
            ServiceWorker.prototype.postMessage = post;
            throw new DOMException('the harness made postMessage fail', 'DataCloneError');
        }
        return post.call(this, message, ...rest);
    };
    return true; })()";

/// How long the page may take to say that asking the worker failed: the
/// failure is immediate, nothing is waited for.
const FAILURE_SAID: Duration = Duration::from_secs(3);

/// Fails unless a failed ask leaves #form-status on something other than
/// its waiting text, and the form still holding the article: until the
/// worker has it safe, the form is the user's only copy.
async fn a_failure_is_said<B: Browser>(cx: &mut Ctx<B>, tab: PageId) -> Result<()> {
    let headline = cx.headline("kept in the form when the worker cannot be asked");
    let status = js_str(FORM_STATUS);
    cx.browser
        .eval(
            tab,
            &format!("document.querySelector({status}).textContent = ''"),
            UI,
        )
        .await?;
    cx.browser.fill(tab, HEADLINE_INPUT, &headline).await?;
    cx.browser.fill(tab, BYLINE_INPUT, "The Harness").await?;
    cx.browser.eval(tab, FAIL_NEXT_ASK_JS, UI).await?;
    cx.browser.click(tab, SUBMIT).await?;
    // Said: a text of its own, not the one shown while waiting (which ends
    // in an ellipsis, as the submit check reads it too).
    let said = format!(
        "(() => {{ const t = document.querySelector({status}).textContent.trim();
                   return t !== '' && !t.endsWith('…') && !t.endsWith('...'); }})()"
    );
    let expected = "when handing the article to the worker fails (the harness made `postMessage` throw), #form-status says so";
    if cx
        .browser
        .wait_until(tab, &said, "the failure said", FAILURE_SAID)
        .await
        .is_err()
    {
        let text = cx
            .browser
            .text_of(tab, FORM_STATUS)
            .await?
            .unwrap_or_default();
        return Err(failed(
            expected,
            format!(
                "\"{}\" after {FAILURE_SAID:?}: no outcome may leave the line on its waiting text (a `?` on the worker's answer leaves the submit handler before it says what happened)",
                text.trim()
            ),
        ));
    }
    let kept = cx
        .browser
        .eval(
            tab,
            &format!("document.querySelector({}).value", js_str(HEADLINE_INPUT)),
            UI,
        )
        .await?;
    if kept.as_str() != Some(headline.as_str()) {
        return Err(failed(
            format!("{expected}, and the form still holds \"{headline}\" to submit again"),
            format!(
                "the headline field holds {kept}: the form was emptied though the worker never took the article (reset it only once the worker answered \"queued\")"
            ),
        ));
    }
    Ok(())
}
