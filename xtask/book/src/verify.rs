//! What mdBook lets through, found before and after the build.
//!
//! mdBook 0.5 leaves a `{{#include}}` of a missing file in the page and exits
//! 0; an include of a missing anchor gives an empty code block; and it checks
//! no link. So:
//!
//! - [`sources`] follows every `{{#include}}` / `{{#rustdoc_include}}` from
//!   the book's Markdown (through included Markdown, as mdBook does) and
//!   checks that the file exists and that a named anchor exists and is not
//!   empty — with a message that says which file and which anchor;
//! - [`output`] reads the built HTML: no directive may be left, no code block
//!   may be empty, and every relative `href`/`src` must name a file of the
//!   book, and its `#fragment` an `id` in that file.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

use anyhow::Context;

use ::lesson::anchors::{self, AnchorError};

use crate::lesson::directives;

/// Problems with the includes of every Markdown file under `src`.
pub fn sources(src: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for file in files(src, "md")? {
        check_includes(&file, &mut seen, &mut problems)?;
    }
    Ok(problems)
}

fn check_includes(
    file: &Path,
    seen: &mut HashSet<PathBuf>,
    problems: &mut Vec<String>,
) -> anyhow::Result<()> {
    if !seen.insert(file.to_owned()) {
        return Ok(());
    }
    let text =
        fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let dir = file.parent().unwrap_or(Path::new("."));
    for directive in directives(&text) {
        if !matches!(directive.name, "include" | "rustdoc_include" | "playground") {
            continue;
        }
        let written = &text[directive.start..directive.end];
        let (target, selection) = directive
            .args
            .split_once(':')
            .unwrap_or((directive.args, ""));
        let target = target.trim();
        let path = normalize(&dir.join(target));
        let Ok(code) = fs::read_to_string(&path) else {
            problems.push(format!(
                "{}: {written}: there is no file {}",
                file.display(),
                path.display()
            ));
            continue;
        };
        let selection = selection.trim();
        let is_line_range =
            !selection.is_empty() && selection.chars().all(|c| c.is_ascii_digit() || c == ':');
        if !selection.is_empty() && !is_line_range {
            if let Err(why) = anchored(&code, selection) {
                problems.push(format!(
                    "{}: {written}: {why} in {}",
                    file.display(),
                    path.display()
                ));
            }
        } else if selection.is_empty() && path.extension().is_some_and(|e| e == "md") {
            // A whole Markdown file: its own includes are expanded too,
            // relative to where it is.
            check_includes(&path, seen, problems)?;
        }
    }
    Ok(())
}

/// The lines between `ANCHOR: name` and `ANCHOR_END: name`, as mdBook takes
/// them (other anchors' marker lines left out; the `lesson` crate's reading,
/// which `cargo xtask reveal` and the trail use too); an error if the anchor
/// is missing, unclosed or holds nothing.
fn anchored(code: &str, name: &str) -> Result<String, String> {
    match anchors::region(code, name) {
        Ok((_, body)) if body.trim().is_empty() => Err(format!("the anchor `{name}` is empty")),
        Ok((_, body)) => Ok(body),
        Err(AnchorError::NoEnd { .. }) => Err(format!("the anchor `{name}` has no ANCHOR_END")),
        Err(_) => Err(format!("there is no anchor `{name}`")),
    }
}

/// Problems in the built HTML under `dest`.
pub fn output(dest: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut ids: HashMap<PathBuf, HashSet<String>> = HashMap::new();
    for page in files(dest, "html")? {
        // The 404 page sets `<base href="/">`: its links only resolve on a
        // server at the site's root, and it is not part of the reading.
        if page.file_name().is_some_and(|n| n == "404.html") {
            continue;
        }
        let html =
            fs::read_to_string(&page).with_context(|| format!("cannot read {}", page.display()))?;
        let shown = page
            .strip_prefix(dest)
            .unwrap_or(&page)
            .display()
            .to_string();
        if let Some(at) = html.find("{{#") {
            let line: String = html[at..]
                .chars()
                .take(80)
                .take_while(|&c| c != '\n')
                .collect();
            problems.push(format!("{shown}: a directive was left in the page: {line}"));
        }
        for empty in empty_code_blocks(&html) {
            problems.push(format!(
                "{shown}: an empty code block ({empty}): an include of a missing or empty anchor?"
            ));
        }
        let dir = page.parent().unwrap_or(dest);
        let mut broken = BTreeSet::new();
        for link in attribute_values(&html, "href").chain(attribute_values(&html, "src")) {
            if let Some(why) = check_link(&link, &page, dir, dest, &mut ids)? {
                broken.insert(format!("{shown}: broken link `{link}`: {why}"));
            }
        }
        problems.extend(broken);
    }
    Ok(problems)
}

/// Why `link` (found in `page`) is broken, or `None` if it is fine.
fn check_link(
    link: &str,
    page: &Path,
    dir: &Path,
    dest: &Path,
    ids: &mut HashMap<PathBuf, HashSet<String>>,
) -> anyhow::Result<Option<String>> {
    let external = ["http:", "https:", "mailto:", "data:", "javascript:", "//"];
    if link.is_empty() || external.iter().any(|scheme| link.starts_with(scheme)) {
        return Ok(None);
    }
    let (path, fragment) = link.split_once('#').unwrap_or((link, ""));
    let path = path.split('?').next().unwrap_or_default();
    let target = if path.is_empty() {
        page.to_owned()
    } else if path.starts_with('/') {
        return Ok(Some(
            "an absolute path only works at a server's root".into(),
        ));
    } else {
        let mut target = normalize(&dir.join(percent_decode(path)));
        if target.is_dir() {
            target.push("index.html");
        }
        target
    };
    if !target.starts_with(dest) {
        return Ok(Some("it points outside the book".into()));
    }
    if !target.is_file() {
        return Ok(Some("no such file in the book".into()));
    }
    let fragment = percent_decode(fragment);
    if fragment.is_empty() || target.extension().is_none_or(|e| e != "html") {
        return Ok(None);
    }
    if !ids.contains_key(&target) {
        let html = fs::read_to_string(&target)
            .with_context(|| format!("cannot read {}", target.display()))?;
        let found = attribute_values(&html, "id").collect();
        ids.insert(target.clone(), found);
    }
    Ok((!ids[&target].contains(&fragment)).then(|| format!("no id `{fragment}` in that page")))
}

/// The values of every ` name="…"` attribute in `html`, entity-decoded.
/// (Text in the page is escaped, so `name="` only occurs in tags.)
fn attribute_values<'a>(html: &'a str, name: &str) -> impl Iterator<Item = String> + 'a {
    let needles = [format!(" {name}=\""), format!("\n{name}=\"")];
    let mut positions: Vec<usize> = needles
        .iter()
        .flat_map(|needle| {
            html.match_indices(needle.as_str())
                .map(|(at, m)| at + m.len())
        })
        .collect();
    positions.sort_unstable();
    positions.into_iter().filter_map(move |start| {
        let length = html[start..].find('"')?;
        Some(entity_decode(&html[start..start + length]))
    })
}

/// Each `<code …>` holding nothing but whitespace, inside a `<pre …>`.
fn empty_code_blocks(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in html.match_indices("<pre") {
        let rest = &html[at..];
        let Some(pre_end) = rest.find('>') else {
            continue;
        };
        let Some(code) = rest[pre_end..].strip_prefix("><code").map(|_| pre_end + 1) else {
            continue;
        };
        let Some(open_end) = rest[code..].find('>').map(|p| code + p + 1) else {
            continue;
        };
        let Some(close) = rest[open_end..].find("</code>") else {
            continue;
        };
        if without_boring_lines(&rest[open_end..open_end + close])
            .trim()
            .is_empty()
        {
            found.push(rest[code..open_end].to_owned());
        }
    }
    found
}

/// A code block's HTML without the lines mdBook adds and hides (the
/// `fn main() {` it wraps around Rust that the playground may run).
fn without_boring_lines(code: &str) -> String {
    const OPEN: &str = "<span class=\"boring\">";
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find(OPEN) {
        out.push_str(&rest[..at]);
        rest = &rest[at + OPEN.len()..];
        rest = rest
            .find("</span>")
            .map_or("", |end| &rest[end + "</span>".len()..]);
    }
    out.push_str(rest);
    out
}

fn entity_decode(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = || u8::from_str_radix(text.get(i + 1..i + 3)?, 16).ok();
        match (bytes[i], hex()) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `a/./b/../c` → `a/c`, without touching the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Every file under `dir` (recursively) with the extension `ext`, sorted.
fn files(dir: &Path, ext: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let entries =
            fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = "\
fn a() {}
// ANCHOR: outer
// ANCHOR: inner
let x = 1;
// ANCHOR_END: inner
// ANCHOR: hollow
// ANCHOR_END: hollow
// ANCHOR_END: outer
// ANCHOR: open
";

    #[test]
    fn anchors_are_found_by_exact_name() {
        assert_eq!(anchored(CODE, "inner").unwrap(), "let x = 1;");
        assert_eq!(anchored(CODE, "outer").unwrap(), "let x = 1;");
        assert!(anchored(CODE, "inn").unwrap_err().contains("no anchor"));
        assert!(anchored(CODE, "hollow").unwrap_err().contains("empty"));
        assert!(
            anchored(CODE, "open")
                .unwrap_err()
                .contains("no ANCHOR_END")
        );
    }

    #[test]
    fn attributes_and_empty_blocks_are_read_from_html() {
        let html = r#"<a href="x.html#a&amp;b">x</a><img src="i.svg"><h2 id="top">
<pre class="playground"><code class="language-rust">
</code></pre><pre><code class="language-rust">fn</code></pre> <code>href="no"</code>
<pre class="playground"><code class="language-rust"><span class="boring">fn main() {
</span><span class="boring">}</span></code></pre>"#;
        let hrefs: Vec<_> = attribute_values(html, "href").collect();
        assert_eq!(hrefs, ["x.html#a&b"]);
        assert_eq!(attribute_values(html, "src").collect::<Vec<_>>(), ["i.svg"]);
        assert_eq!(
            empty_code_blocks(html),
            [
                r#"<code class="language-rust">"#,
                r#"<code class="language-rust">"#
            ]
        );
        assert_eq!(normalize(Path::new("/a/./b/../c")), Path::new("/a/c"));
        assert_eq!(percent_decode("a%20b%zz"), "a b%zz");
    }
}
