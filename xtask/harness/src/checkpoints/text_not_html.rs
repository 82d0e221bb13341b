//! Goal 0: what users write is shown as text, never run as HTML. The article
//! goes to the server directly (this works before the lesson, and in every
//! browser); the page, reloaded, must list it character for character, with
//! no element made from it and no script run by it.

use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::context::Ctx;
use super::failed::failed;
use super::page::UI;
use crate::app::{ARTICLES, LIST};
use crate::browsers::{Browser, js_str};
use crate::standins::push_service::uuid;

/// The global the payload would set if any of it ran.
const MARKER: &str = "__harnessInjected";

pub(super) async fn text_not_html<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.ready().await?;
    let label = cx.headline("");
    let headline = format!(
        "{label}<script>window.{MARKER} = 'script'</script><img src=x onerror=\"window.{MARKER} = 'img'\">"
    );
    let byline = format!("<b onmouseover=\"window.{MARKER} = 'byline'\">The Harness</b>");
    let id = uuid()?;
    let body = json!({ "id": id, "headline": headline, "byline": byline }).to_string();
    let (status, answer) = post(cx.server.port, ARTICLES, &body).await?;
    if !(200..300).contains(&status) {
        return Err(failed(
            "the server to store a headline containing `<script>` and `<img onerror>` as it is (it is text, not an error)",
            format!("POST {ARTICLES} answered {status}: {answer}"),
        ));
    }
    let stored = cx.server.articles().await?;
    if !stored.iter().any(|a| a.headline == headline) {
        return Err(failed(
            format!("the server to list the headline as sent: {headline:?}"),
            format!("it is not in GET {ARTICLES}, or it was changed"),
        ));
    }

    cx.browser.reload(tab).await?;
    let item = format!("{LIST} li[data-id={}]", js_str(&id));
    let shown = format!("!!document.querySelector({})", js_str(&item));
    if cx
        .browser
        .wait_until(tab, &shown, "the new article in the list", UI)
        .await
        .is_err()
    {
        return Err(failed(
            format!("the article {id} in the list after a reload"),
            format!("no `{item}` after {UI:?}"),
        ));
    }
    // An `<img src=x>` made from the text would fail to load a moment later
    // and run its `onerror`: give it that moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let js = format!(
        "(() => {{ const li = document.querySelector({item});
           return {{ text: li ? li.textContent : '',
                     made: li ? Array.from(li.querySelectorAll('script, img, b')).map(e => e.outerHTML) : [],
                     stray: document.querySelectorAll('img[src=\"x\"]').length,
                     ran: typeof window.{MARKER} === 'undefined' ? null : String(window.{MARKER}) }}; }})()",
        item = js_str(&item)
    );
    let seen = cx.browser.eval(tab, &js, UI).await?;
    if let Some(ran) = seen["ran"].as_str() {
        return Err(failed(
            "no script run by a headline or byline",
            format!(
                "the payload ran (window.{MARKER} = {ran:?}): text from users was put into the page as HTML; set it with `set_text_content`"
            ),
        ));
    }
    let made: Vec<&str> = seen["made"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !made.is_empty() || seen["stray"].as_u64().unwrap_or(0) > 0 {
        return Err(failed(
            "the headline shown as text, with no element made from it",
            format!(
                "elements made from the text: {} (set it with `set_text_content`, never as HTML)",
                if made.is_empty() {
                    "an <img src=x> in the page".to_owned()
                } else {
                    made.join(", ")
                }
            ),
        ));
    }
    let text = seen["text"].as_str().unwrap_or_default();
    if !text.contains(&headline) || !text.contains(&byline) {
        return Err(failed(
            format!(
                "the list item to show the headline and byline character for character: {headline:?}, {byline:?}"
            ),
            format!("{text:?}"),
        ));
    }
    Ok(())
}

/// `POST path` with a JSON body on 127.0.0.1:`port`; the status and the
/// body of the answer.
pub(crate) async fn post(port: u16, path: &str, body: &str) -> Result<(u16, String)> {
    let send = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        let request = format!(
            "POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n\
             accept: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        anyhow::Ok(response)
    };
    let response = tokio::time::timeout(Duration::from_secs(10), send)
        .await
        .with_context(|| format!("POST {path}: no answer within 10 s"))??;
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("the server's answer has no end of headers")?;
    let head = String::from_utf8_lossy(&response[..end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("the server's answer has no status")?;
    let mut rest = response[end + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        rest = crate::standins::proxy::dechunk(&rest)?;
    }
    Ok((status, String::from_utf8_lossy(&rest).into_owned()))
}
