//! The book's picture of a room (`harness room-screenshot`, and part of
//! `screenshots`).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::json;

use super::instance::{Room, WAIT};
use super::page::rows;
use super::students::{Lesson, Student};
use crate::browsers::Browser;
use crate::browsers::chromium::{self, Chromium};

/// The book's picture of a room: a few students at different points of
/// the lesson, one of them stuck. Writes `<out>/room.png`.
pub async fn screenshot(room_bin: &Path, out: &Path) -> Result<()> {
    let exe = chromium::find_or_install()?;
    let room = Room::start(room_bin).await.context("starting the room")?;
    let table = room.table().await?;
    let code = room.code().await?;
    let lesson = Lesson::of(&table)?;
    let mut students = vec![
        Student::at("s1", "Ada Lovelace", &lesson, usize::MAX),
        Student::at("s2", "Alan Turing", &lesson, 9),
        Student::at("s3", "Grace Hopper", &lesson, 11),
        Student::at("s4", "Katherine Johnson", &lesson, 7),
        Student::at("s5", "<b>Bobby</b> Tables", &lesson, 8),
    ];
    // Alan needed the two hints before this one too, and asked for more
    // on this one.
    students[1].hints = vec![
        ("page-worker".into(), 1),
        ("outbox".into(), 1),
        (students[1].hints[0].0.clone(), 2),
    ];
    for student in &students {
        let (ok, printed) = room.send(student, &code).await?;
        ensure!(ok, "`room send` for {:?} failed: {printed}", student.name);
    }
    let lines = json!([
        {"check": "rust", "ok": true, "detail": "rustc 1.89.0"},
        {"check": "wasm target", "ok": true, "detail": "installed"},
        {"check": "chromium", "ok": true, "detail": "Chromium 131"}
    ]);
    for student in &students[..3] {
        room.send_doctor(student, &code, &lines).await?;
    }
    let mut b = Chromium::launch(exe, &room.url())
        .await
        .context("starting Chromium")?;
    let tab = b.open_page(&format!("{}/", room.url())).await?;
    b.wait_until(
        tab,
        &format!(
            "document.querySelectorAll('#students tr').length === {} && document.getElementById('live').textContent === 'live'",
            students.len()
        ),
        "the room page with every student",
        WAIT,
    )
    .await?;
    // The picture is of a room 40 minutes in, not of this run's seconds:
    // the code as the instructor's room sees it, and the times each
    // student has been on their checkpoint (Alan past the plan's minutes
    // for his, so his row is marked stuck). Only the page's copy changes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    b.eval(
        tab,
        "(() => {
           const minutes = { 'Alan Turing': 23, 'Grace Hopper': 4, 'Katherine Johnson': 6, '<b>Bobby</b> Tables': 2 };
           for (const s of latest.students) {
             if (s.on_since !== null) s.on_since -= 60 * (minutes[s.name] || 0);
             s.checks_here += Math.floor((minutes[s.name] || 0) / 3);
           }
           latest.code = 'K7PXQ3';
           document.getElementById('sort').value = 'behind';
           render(latest);
         })()",
        WAIT,
    )
    .await?;
    let (_, stuck) = rows(&mut b, tab).await?;
    ensure!(
        stuck == ["Alan Turing"],
        "the picture should show Alan Turing stuck, and only him: {stuck:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let png = b.screenshot(tab, 1800, 600).await?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let path = out.join("room.png");
    std::fs::write(&path, &png).with_context(|| format!("cannot write {}", path.display()))?;
    println!("  room.png ({} KB)", png.len().div_ceil(1024));
    Ok(())
}
