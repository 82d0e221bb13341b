//! Reading the room's page in Chromium: a student's row, the columns'
//! headers, the rows' order, and the controls an instructor sets.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::Value;

use crate::browsers::chromium::Chromium;
use crate::browsers::{Browser, PageId, js_str};

use super::instance::WAIT;
use super::students::Student;

/// The row of `name` in the page, or null while there is none.
pub(super) fn row_js(name: &str) -> String {
    format!(
        "(() => {{
           const tr = Array.from(document.querySelectorAll('#students tr'))
             .find(tr => tr.querySelector('td.name')?.textContent === {name});
           if (!tr) return null;
           const cells = {{}};
           tr.querySelectorAll('td[data-checkpoint]').forEach(td =>
             cells[td.dataset.checkpoint] = [td.dataset.result, td.textContent]);
           const nameCell = tr.querySelector('td.name');
           const levels = Array.from(tr.querySelectorAll('td.hints span'))
             .map(s => [s.textContent, s.dataset.level]);
           return {{ cells, name: nameCell.textContent, elements: nameCell.children.length,
                     hints: tr.querySelector('td.hints').textContent, levels,
                     on: tr.querySelector('td.on').textContent,
                     why: tr.querySelector('td.why').textContent,
                     doctor: tr.querySelector('td.doctor').textContent,
                     stuck: tr.classList.contains('stuck') }};
         }})()",
        name = js_str(name)
    )
}

/// Waits until the page shows a row for `name` of which `good` holds.
pub(super) async fn wait_row_where(
    b: &mut Chromium,
    tab: PageId,
    name: &str,
    what: &str,
    good: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let row = b.eval(tab, &row_js(name), WAIT).await?;
        if !row.is_null() && good(&row) {
            return Ok(row);
        }
        if Instant::now() >= deadline {
            bail!("the page did not show {name:?}'s row {what} within {WAIT:?} (last seen: {row})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the page shows `student`'s row with every cell as reported,
/// their failure and their hints.
pub(super) async fn wait_row(b: &mut Chromium, tab: PageId, student: &Student) -> Result<Value> {
    let expected: Vec<(String, String)> = student
        .results
        .iter()
        .map(|(id, result)| {
            let symbol = match *result {
                "pass" => "✓",
                "fail" => "✗",
                "not-applicable" => "n/a",
                _ => "—",
            };
            (id.clone(), symbol.to_owned())
        })
        .collect();
    let failure = student.failure.clone();
    wait_row_where(
        b,
        tab,
        &student.name,
        &format!("with {expected:?}"),
        |row| {
            expected
                .iter()
                .all(|(id, symbol)| row["cells"][id][1].as_str() == Some(symbol))
                && failure.as_ref().is_none_or(|(expected, seen)| {
                    row["why"].as_str().is_some_and(|why| {
                        why.contains(&format!("expected: {expected}"))
                            && why.contains(&format!("seen: {seen}"))
                    })
                })
        },
    )
    .await
}

pub(super) fn step(started: Instant, what: &str) {
    println!("  ✓ {what} ({} ms)", started.elapsed().as_millis());
}

/// Sets a control of the page (`#stuck-after`, `#sort`) as the instructor
/// would, and lets the page redraw.
pub(super) async fn set_control(
    b: &mut Chromium,
    tab: PageId,
    id: &str,
    value: &str,
) -> Result<()> {
    b.eval(
        tab,
        &format!(
            "(() => {{ const input = document.getElementById({id}); input.value = {value};
                      input.dispatchEvent(new Event('input')); return input.value; }})()",
            id = js_str(id),
            value = js_str(value)
        ),
        WAIT,
    )
    .await?;
    Ok(())
}

/// The header of checkpoint `id`: the count, the bar's height, the title.
pub(super) fn header_js(id: &str) -> String {
    format!(
        "(() => {{ const th = document.querySelector({selector});
                  return {{ passed: th.dataset.passed, count: th.querySelector('.count').textContent,
                            bar: th.querySelector('.fill').style.height, title: th.title }}; }})()",
        selector = js_str(&format!("th[data-checkpoint=\"{id}\"]"))
    )
}

/// The names of the rows, top to bottom, and those marked stuck.
pub(super) async fn rows(b: &mut Chromium, tab: PageId) -> Result<(Vec<String>, Vec<String>)> {
    let rows = b
        .eval(
            tab,
            "({ names: Array.from(document.querySelectorAll('#students tr')).map(tr => tr.dataset.name),
                stuck: Array.from(document.querySelectorAll('#students tr.stuck')).map(tr => tr.dataset.name) })",
            WAIT,
        )
        .await?;
    let names = |key: &str| -> Vec<String> {
        rows[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect()
    };
    Ok((names("names"), names("stuck")))
}
