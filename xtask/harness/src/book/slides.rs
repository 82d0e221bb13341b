//! The slides on a projector: every slide fits its box at 1280×720 and at
//! 1024×768 (the slide box hides what does not fit, without a word); the
//! speaker view fits an 800×600 window, showing the current slide, the next
//! one and the notes; and the presenting window and the speaker view follow
//! each other.

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;

use crate::browsers::{Browser, PageId, js_str};

use super::page::{WAIT, navigate};

/// The projectors the slides must fit: 16:9 and 4:3.
pub const PROJECTORS: [(u32, u32); 2] = [(1280, 720), (1024, 768)];
/// The speaker view's smallest window: what a headless browser opens.
pub const SPEAKER_WINDOW: (u32, u32) = (800, 600);

/// The chapter with the slides, from the book's root.
pub const SLIDES: &str = "background-sync/slides.html";

/// Each slide's text and its notes' text, read from the chapter as
/// theme/slides.js cuts it (at each `<hr>` in `main`).
const SLIDE_TEXTS: &str = r#"(() => {
  const slides = [[]];
  for (const node of document.querySelector('main').childNodes) {
    if (node.nodeName === 'HR') { slides.push([]); } else { slides[slides.length - 1].push(node); }
  }
  return slides.map((nodes) => ({
    // What a copy of the nodes reads as: comments are no text there.
    text: nodes.map((n) => n.nodeType === Node.COMMENT_NODE ? '' : n.textContent).join(''),
    notes: nodes.flatMap((n) => n.nodeType !== 1 ? [] : n.matches('.notes') ? [n] : Array.from(n.querySelectorAll('.notes')))
      .map((n) => n.textContent).join(''),
  }));
})()"#;

#[derive(Debug, Deserialize)]
struct Slide {
    text: String,
    notes: String,
}

/// A key pressed on the page, as the slides hear it (on the window, in the
/// capture phase, before mdBook's own keys).
fn key_down(key: &str) -> String {
    format!(
        "document.body.dispatchEvent(new KeyboardEvent('keydown', {{key: {}, bubbles: true}}))",
        js_str(key)
    )
}

/// [`key_down`] as an expression with a value to return.
pub fn press(key: &str) -> String {
    format!("{}, true", key_down(key))
}

async fn slides<B: Browser>(b: &mut B, tab: PageId) -> Result<Vec<Slide>> {
    let value = b.eval(tab, SLIDE_TEXTS, WAIT).await?;
    let slides: Vec<Slide> = serde_json::from_value(value).context("the slides' texts")?;
    ensure!(slides.len() > 1, "the slides chapter has no slides");
    Ok(slides)
}

/// What overflows the presented slide: the box's own overflow (hidden by
/// `overflow: hidden`), anything inside that scrolls or clips, and a box
/// outside the window.
const PRESENTED: &str = r#"(() => {
  const slide = document.querySelector('.slides-overlay .slide');
  if (!slide) { return null; }
  const problems = [];
  const tall = slide.scrollHeight - slide.clientHeight;
  const wide = slide.scrollWidth - slide.clientWidth;
  if (tall > 1) { problems.push(`its content is ${tall} px taller than the slide`); }
  if (wide > 1) { problems.push(`its content is ${wide} px wider than the slide`); }
  for (const el of slide.querySelectorAll('*')) {
    const style = getComputedStyle(el);
    const hidden = el.scrollWidth - el.clientWidth > 1 || el.scrollHeight - el.clientHeight > 1;
    if (hidden && style.display !== 'inline' && (style.overflowX !== 'visible' || style.overflowY !== 'visible')) {
      problems.push(`a <${el.tagName.toLowerCase()}> in it scrolls or cuts off its content`);
    }
  }
  const box = slide.getBoundingClientRect();
  if (box.top < 0 || box.left < 0 || box.bottom > innerHeight + 0.5 || box.right > innerWidth + 0.5) {
    problems.push('the slide is not all in the window');
  }
  return {
    counter: document.querySelector('.slides-counter').textContent,
    title: (slide.querySelector('h1, h2, h3') || slide).textContent.trim().slice(0, 60),
    problems,
  };
})()"#;

#[derive(Debug, Deserialize)]
struct Presented {
    counter: String,
    title: String,
    problems: Vec<String>,
}

/// Presents every slide at each projector size; fails naming each slide
/// that does not fit, and how.
pub async fn fit<B: Browser>(b: &mut B, origin: &str) -> Result<usize> {
    let tab = b.open_page("about:blank").await?;
    let mut problems = Vec::new();
    let mut count = 0;
    for (width, height) in PROJECTORS {
        b.set_viewport(tab, width, height).await?;
        navigate(b, tab, &format!("{origin}/{SLIDES}")).await?;
        count = slides(b, tab).await?.len();
        b.eval(tab, &press("p"), WAIT).await?;
        for n in 1..=count {
            let value = b.eval(tab, PRESENTED, WAIT).await?;
            let shown: Presented = serde_json::from_value(value)
                .context("pressing P presents no slide (`.slides-overlay .slide`)")?;
            ensure!(
                shown.counter == format!("{n} / {count}"),
                "at {width}×{height}, slide {n} says \"{}\"",
                shown.counter
            );
            for problem in shown.problems {
                problems.push(format!(
                    "at {width}×{height}, slide {n} (\"{}\"): {problem}",
                    shown.title
                ));
            }
            b.eval(tab, &press("ArrowRight"), WAIT).await?;
        }
    }
    if !problems.is_empty() {
        bail!(
            "slides do not fit the projector (the slide box hides what does not fit; \
             split the slide, or shorten it, in lessons/background-sync/slides.md):\n  {}",
            problems.join("\n  ")
        );
    }
    Ok(count)
}

/// What the speaker view shows, and what of it is cut off.
const SPEAKER: &str = r#"(() => {
  const view = document.querySelector('.slides-speaker');
  if (!view) { return null; }
  const problems = [];
  const inside = (inner, outer) => inner.top >= outer.top - 0.5 && inner.left >= outer.left - 0.5
    && inner.bottom <= outer.bottom + 0.5 && inner.right <= outer.right + 0.5;
  const window = { top: 0, left: 0, bottom: innerHeight, right: innerWidth };
  for (const pane of view.querySelectorAll('.pane')) {
    const name = pane.querySelector('.label').textContent;
    if (!inside(pane.getBoundingClientRect(), window)) { problems.push(`the ${name} pane is not all in the window`); }
    const slide = pane.querySelector('.slide');
    if (!slide) { continue; }
    if (pane.scrollHeight - pane.clientHeight > 1 || pane.scrollWidth - pane.clientWidth > 1) {
      problems.push(`the ${name} pane cuts off its slide`);
    }
    if (!inside(slide.getBoundingClientRect(), pane.getBoundingClientRect())) {
      problems.push(`the ${name} slide is not all in its pane`);
    }
    if (slide.scrollHeight - slide.clientHeight > 1) { problems.push(`the ${name} slide hides part of its content`); }
  }
  const text = (selector) => { const el = view.querySelector(selector); return el ? el.textContent : null; };
  return {
    position: text('.bar span'),
    now: text('.current .slide'),
    next: text('.next .slide'),
    notes: view.querySelector('.speaker-notes').lastChild.textContent,
    problems,
  };
})()"#;

#[derive(Debug, Deserialize)]
struct Speaker {
    position: String,
    now: Option<String>,
    next: Option<String>,
    notes: String,
    problems: Vec<String>,
}

async fn speaker<B: Browser>(b: &mut B, tab: PageId) -> Result<Speaker> {
    let value = b.eval(tab, SPEAKER, WAIT).await?;
    serde_json::from_value(value).context("the speaker view is not shown (`.slides-speaker`)")
}

/// Checks that the speaker view shows slide `n` (from 1) of `slides`.
fn shows(seen: &Speaker, n: usize, slides: &[Slide]) -> Result<()> {
    let count = slides.len();
    ensure!(
        seen.position == format!("Slide {n} / {count}"),
        "the speaker view says \"{}\" where \"Slide {n} / {count}\" was expected",
        seen.position
    );
    ensure!(
        seen.now.as_deref() == Some(&slides[n - 1].text),
        "the speaker view's Now pane does not show slide {n}"
    );
    let next = slides.get(n).map(|s| s.text.as_str());
    ensure!(
        seen.next.as_deref() == next,
        "the speaker view's Next pane does not show {}",
        next.map_or("(end)".to_owned(), |_| format!("slide {}", n + 1))
    );
    let notes = &slides[n - 1].notes;
    ensure!(
        (notes.is_empty() && seen.notes == "(no notes)") || seen.notes == *notes,
        "the speaker view's Notes pane does not show slide {n}'s notes"
    );
    Ok(())
}

/// The speaker view in an 800×600 window: every slide's panes fit, and they
/// show the slide, the next one and the notes.
pub async fn speaker_view<B: Browser>(b: &mut B, origin: &str) -> Result<()> {
    let tab = b.open_page("about:blank").await?;
    let (width, height) = SPEAKER_WINDOW;
    b.set_viewport(tab, width, height).await?;
    navigate(b, tab, &format!("{origin}/{SLIDES}#speaker-1")).await?;
    let slides = slides(b, tab).await?;
    let mut problems = Vec::new();
    for n in 1..=slides.len() {
        let seen = speaker(b, tab).await?;
        shows(&seen, n, &slides)?;
        problems.extend(
            seen.problems
                .into_iter()
                .map(|p| format!("at {width}×{height}, slide {n}: {p}")),
        );
        b.eval(tab, &press("ArrowRight"), WAIT).await?;
    }
    if !problems.is_empty() {
        bail!(
            "the speaker view does not fit (book/theme/slides.css):\n  {}",
            problems.join("\n  ")
        );
    }
    Ok(())
}

/// The presenting window and the speaker view follow each other, both
/// ways; and S opens the speaker view at the current slide.
pub async fn windows_follow<B: Browser>(b: &mut B, origin: &str) -> Result<()> {
    let url = format!("{origin}/{SLIDES}");
    let room = b.open_page(&url).await?;
    let slides = slides(b, room).await?;
    let count = slides.len();
    b.eval(room, &press("p"), WAIT).await?;
    let desk = b.open_page(&format!("{url}#speaker-1")).await?;
    shows(&speaker(b, desk).await?, 1, &slides)?;

    // The presenter moves on in the room: the speaker view follows.
    for key in ["ArrowRight", "ArrowRight"] {
        b.eval(room, &press(key), WAIT).await?;
    }
    wait_speaker_at(b, desk, 3, &slides).await?;
    // The speaker moves from the desk: the room follows.
    b.eval(desk, &press("ArrowLeft"), WAIT).await?;
    wait_counter(b, room, &format!("2 / {count}")).await?;
    b.eval(desk, &press("End"), WAIT).await?;
    wait_counter(b, room, &format!("{count} / {count}")).await?;
    wait_speaker_at(b, desk, count, &slides).await?;

    // S in the room opens the speaker view's window at the room's slide.
    let opened = b
        .eval(
            room,
            &format!(
                "(() => {{ let opened = null; window.open = (url) => {{ opened = url; return null; }};
                   {}; return opened; }})()",
                key_down("s")
            ),
            WAIT,
        )
        .await?;
    let opened = opened.as_str().unwrap_or_default();
    ensure!(
        opened.ends_with(&format!("{SLIDES}#speaker-{count}")),
        "S opened {opened:?}, not the speaker view at slide {count}"
    );
    Ok(())
}

async fn wait_speaker_at<B: Browser>(
    b: &mut B,
    desk: PageId,
    n: usize,
    slides: &[Slide],
) -> Result<()> {
    let expected = format!("Slide {n} / {}", slides.len());
    let js = format!(
        "document.querySelector('.slides-speaker .bar span')?.textContent === {}",
        js_str(&expected)
    );
    b.wait_until(
        desk,
        &js,
        &format!("the speaker view to follow to slide {n}"),
        Duration::from_secs(5),
    )
    .await?;
    shows(&speaker(b, desk).await?, n, slides)
}

async fn wait_counter<B: Browser>(b: &mut B, room: PageId, counter: &str) -> Result<()> {
    let js = format!(
        "document.querySelector('.slides-counter')?.textContent === {}",
        js_str(counter)
    );
    b.wait_until(
        room,
        &js,
        &format!("the presented slides to follow the speaker view to {counter}"),
        Duration::from_secs(5),
    )
    .await
    .map(drop)
}
