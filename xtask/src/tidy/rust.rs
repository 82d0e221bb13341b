//! Rust source read as far as the tidy tests need it: no parser, only what
//! a careful eye sees — comments and literals blanked out, test code left
//! out, items found by their braces, `mod` declarations and paths.
//!
//! Every function here keeps byte offsets and line breaks, so that what it
//! finds can be named by line.

/// `text` with every comment and the inside of every string and character
/// literal replaced by spaces (line breaks kept), so that a `{`, a `fn` or a
/// `crate::` in them is not taken for code.
pub fn blank(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    let wipe = |out: &mut Vec<u8>, from: usize, to: usize| {
        for byte in &mut out[from..to] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    };
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                wipe(&mut out, i, end);
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                // Block comments nest.
                let (mut depth, mut j) = (0, i);
                while j < bytes.len() {
                    if bytes[j..].starts_with(b"/*") {
                        depth += 1;
                        j += 2;
                    } else if bytes[j..].starts_with(b"*/") {
                        depth -= 1;
                        j += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        j += 1;
                    }
                }
                wipe(&mut out, i, j);
                i = j;
            }
            b'r' if is_raw_string(bytes, i) => {
                let hashes = bytes[i + 1..].iter().take_while(|b| **b == b'#').count();
                let open = i + 1 + hashes + 1;
                let close = format!("\"{}", "#".repeat(hashes));
                let end = text[open..]
                    .find(&close)
                    .map_or(bytes.len(), |n| open + n + close.len());
                wipe(&mut out, open, end.saturating_sub(close.len()).max(open));
                i = end;
            }
            b'"' => {
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                wipe(&mut out, i + 1, j.min(bytes.len()));
                i = j + 1;
            }
            b'\'' => {
                // A character literal ('x', '\n', '\u{1F600}'), or a
                // lifetime ('a), which is left as it is.
                let end = if bytes.get(i + 1) == Some(&b'\\') {
                    text[i + 2..].find('\'').map(|n| i + 2 + n)
                } else {
                    text[i + 1..]
                        .chars()
                        .next()
                        .map(|c| i + 1 + c.len_utf8())
                        .filter(|&j| bytes.get(j) == Some(&b'\''))
                };
                match end {
                    Some(end) => {
                        wipe(&mut out, i + 1, end);
                        i = end + 1;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    String::from_utf8(out).expect("only ASCII bytes were replaced, by spaces")
}

/// Whether a raw string literal (`r"…"`, `r#"…"#`, `br"…"`) starts at `i`.
fn is_raw_string(bytes: &[u8], i: usize) -> bool {
    let before = i.checked_sub(1).map(|j| bytes[j]);
    let starts_a_word =
        before.is_none_or(|b| !(b.is_ascii_alphanumeric() || b == b'_')) || before == Some(b'b');
    let hashes = bytes[i + 1..].iter().take_while(|b| **b == b'#').count();
    starts_a_word && bytes.get(i + 1 + hashes) == Some(&b'"')
}

/// Where the item that starts at `start` ends (one past its last byte): at
/// its `;`, or at the `}` that closes its first `{`, whichever comes first
/// outside brackets.
pub fn item_end(code: &str, start: usize) -> usize {
    let bytes = code.as_bytes();
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.saturating_sub(1),
            b';' if depth == 0 => return i + 1,
            b'{' if depth == 0 => return closing_brace(code, i).map_or(bytes.len(), |end| end + 1),
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

/// The `}` that closes the `{` at `open`.
pub fn closing_brace(code: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, byte) in code.bytes().enumerate().skip(open) {
        match byte {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `code` (blanked) with its test code blanked too: every item marked
/// `#[cfg(test)]` (a `mod tests`, a helper) and every `#[test]` function.
pub fn without_tests(code: &str) -> String {
    let mut out = code.to_owned();
    for marker in ["#[cfg(test)]", "#[test]"] {
        let mut from = 0;
        while let Some(at) = out[from..].find(marker).map(|n| from + n) {
            let end = item_end(&out, at + marker.len());
            out.replace_range(at..end, &spaces(&out[at..end]));
            from = end;
        }
    }
    out
}

/// `text` as spaces, its line breaks kept.
pub fn spaces(text: &str) -> String {
    text.chars()
        .map(|c| if c == '\n' { '\n' } else { ' ' })
        .collect()
}

/// The line (from 1) of byte `at`.
pub fn line_of(code: &str, at: usize) -> usize {
    code[..at].bytes().filter(|b| *b == b'\n').count() + 1
}

/// Whether `word` stands at `at` on its own (not inside a longer name).
fn word_at(code: &str, at: usize, word: &str) -> bool {
    let bytes = code.as_bytes();
    let before = at.checked_sub(1).map(|i| bytes[i]);
    let after = bytes.get(at + word.len()).copied();
    let ident = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    code[at..].starts_with(word) && !ident(before) && !ident(after)
}

/// The identifier that starts at `at`, if any.
fn ident_at(code: &str, at: usize) -> Option<&str> {
    let rest = &code[at..];
    let len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    (len > 0 && !rest.starts_with(|c: char| c.is_ascii_digit())).then(|| &rest[..len])
}

/// `at` moved past any whitespace.
fn skip_space(code: &str, at: usize) -> usize {
    at + code[at..].len() - code[at..].trim_start().len()
}

/// A function with a body: its name, the line of its `fn` and how many
/// lines it spans, to its closing brace.
#[derive(Debug, PartialEq, Eq)]
pub struct Function {
    pub name: String,
    pub line: usize,
    pub lines: usize,
}

/// Every function with a body in `code` (blanked), nested ones too.
pub fn functions(code: &str) -> Vec<Function> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("fn").map(|n| from + n) {
        from = at + 2;
        if !word_at(code, at, "fn") {
            continue;
        }
        let Some(name) = ident_at(code, skip_space(code, at + 2)) else {
            continue;
        };
        // The body, unless a `;` ends the signature first (a trait's
        // declaration, an extern function).
        let end = item_end(code, at);
        if !code[at..end].ends_with('}') {
            continue;
        }
        let line = line_of(code, at);
        found.push(Function {
            name: name.to_owned(),
            line,
            lines: line_of(code, end - 1) - line + 1,
        });
    }
    found
}

/// A `mod` declared in a module's own code.
#[derive(Debug, PartialEq, Eq)]
pub struct ModDecl {
    pub name: String,
    /// The byte range of its `{ … }` body, for a module written inline;
    /// `None` for `mod name;`, whose code is in a file of its own.
    pub body: Option<(usize, usize)>,
}

/// The `mod` declarations of `code` (blanked, tests left out) at its top
/// level: not those inside a function or an inline module's body.
pub fn mod_decls(code: &str) -> Vec<ModDecl> {
    let mut found = Vec::new();
    let mut depth = 0usize;
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            b'm' if depth == 0 && word_at(code, i, "mod") => {
                let name_at = skip_space(code, i + 3);
                if let Some(name) = ident_at(code, name_at) {
                    let after = skip_space(code, name_at + name.len());
                    if bytes.get(after) == Some(&b';') {
                        found.push(ModDecl {
                            name: name.to_owned(),
                            body: None,
                        });
                    } else if bytes.get(after) == Some(&b'{') {
                        let close = closing_brace(code, after).unwrap_or(bytes.len() - 1);
                        found.push(ModDecl {
                            name: name.to_owned(),
                            body: Some((after + 1, close)),
                        });
                        i = close + 1;
                        continue;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// A path `code` names, and the byte where it is written.
#[derive(Debug, PartialEq, Eq)]
pub struct PathRef {
    pub segments: Vec<String>,
    pub at: usize,
}

/// Every path of two segments or more that `code` (blanked) names: those of
/// its `use` declarations, with their `{…}` groups spelled out (`self` in a
/// group names the group's own path), and those written in its code.
pub fn paths(code: &str) -> Vec<PathRef> {
    let mut found = Vec::new();
    let mut rest = code.to_owned();
    // `use` declarations first, then blanked, so that their segments are
    // not read a second time as paths in code.
    let mut from = 0;
    while let Some(at) = rest[from..].find("use").map(|n| from + n) {
        from = at + 3;
        if !word_at(&rest, at, "use") {
            continue;
        }
        let Some(end) = rest[at..].find(';').map(|n| at + n) else {
            break;
        };
        for segments in expand(&rest[at + 3..end]) {
            if segments.len() >= 2 {
                found.push(PathRef { segments, at });
            }
        }
        let blanked = spaces(&rest[at..end]);
        rest.replace_range(at..end, &blanked);
        from = end;
    }
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts = i == 0
            || !(bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'_'
                || bytes[i - 1] == b':');
        match ident_at(&rest, i).filter(|_| starts) {
            Some(first) => {
                let mut segments = vec![first.to_owned()];
                let mut j = i + first.len();
                while rest[j..].starts_with("::") {
                    match ident_at(&rest, j + 2) {
                        Some(next) => {
                            segments.push(next.to_owned());
                            j += 2 + next.len();
                        }
                        None => break,
                    }
                }
                if segments.len() >= 2 {
                    found.push(PathRef { segments, at: i });
                }
                i = j;
            }
            None => i += 1,
        }
    }
    found
}

/// A `use` tree's tokens: names, `::`, `{`, `}`, `,`, `*`.
fn tokens(tree: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < tree.len() {
        let rest = &tree[i..];
        if rest.starts_with(char::is_whitespace) {
            i += rest.chars().next().map_or(1, char::len_utf8);
        } else if rest.starts_with("::") {
            found.push("::");
            i += 2;
        } else if let Some(name) = ident_at(tree, i) {
            found.push(name);
            i += name.len();
        } else {
            found.push(&rest[..1]);
            i += 1;
        }
    }
    found
}

/// A `use` tree, as the paths it names: `a::{b, c::{self, d}}` is `a::b`,
/// `a::c`, `a::c::d`; an `as` alias and a `*` are left out.
fn expand(tree: &str) -> Vec<Vec<String>> {
    let tokens = tokens(tree);
    let mut found = Vec::new();
    let mut at = 0;
    expand_from(&tokens, &mut at, &[], &mut found);
    found
}

/// Reads one tree from `tokens[*at..]` under `prefix` into `found`.
fn expand_from(tokens: &[&str], at: &mut usize, prefix: &[String], found: &mut Vec<Vec<String>>) {
    let mut path = prefix.to_vec();
    while let Some(&token) = tokens.get(*at) {
        match token {
            "::" => *at += 1,
            "{" => {
                *at += 1;
                while tokens.get(*at).is_some_and(|t| *t != "}") {
                    expand_from(tokens, at, &path, found);
                    if tokens.get(*at) == Some(&",") {
                        *at += 1;
                    }
                }
                *at += 1;
                return;
            }
            "," | "}" => break,
            "as" => {
                // The alias after it names nothing new.
                *at += 2;
            }
            "*" => *at += 1,
            "self" if path.len() == prefix.len() && !prefix.is_empty() => *at += 1,
            name => {
                path.push(name.to_owned());
                *at += 1;
            }
        }
    }
    if !path.is_empty() {
        found.push(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_literals_are_blanked_line_breaks_kept() {
        let text = "let a = \"crate::x { \\\" \"; // crate::y {\n/* a /* nested */ { */ let c = '{'; let l: &'a str = r#\"}\"#;\n";
        let code = blank(text);
        assert_eq!(code.len(), text.len());
        assert_eq!(code.lines().count(), text.lines().count());
        assert!(!code.contains("crate::"), "{code}");
        assert!(!code.contains('{') && !code.contains('}'), "{code}");
        assert!(code.contains("&'a str"), "a lifetime stays: {code}");
    }

    #[test]
    fn test_code_is_left_out() {
        let code = blank(
            "fn keep() {}\n#[cfg(test)]\nmod tests {\n    fn gone() {}\n}\n#[test]\nfn also_gone() { x(); }\n#[cfg(test)]\nuse crate::only_for_tests;\nfn kept_too() {}\n",
        );
        let kept = without_tests(&code);
        let names: Vec<String> = functions(&kept).into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["keep", "kept_too"]);
        assert!(!kept.contains("only_for_tests"));
    }

    #[test]
    fn functions_are_measured_from_fn_to_their_closing_brace() {
        let code = blank(
            "trait T {\n    fn declared(&self);\n}\npub async fn outer() -> u8 {\n    fn inner() {\n    }\n    1\n}\n",
        );
        assert_eq!(
            functions(&code),
            [
                Function {
                    name: "outer".into(),
                    line: 4,
                    lines: 5
                },
                Function {
                    name: "inner".into(),
                    line: 5,
                    lines: 2
                },
            ]
        );
    }

    #[test]
    fn mod_declarations_at_the_top_level_only() {
        let code = blank("mod a;\npub mod b { mod c; }\nfn f() { mod d {} }\npub(crate) mod e;\n");
        let decls = mod_decls(&code);
        let names: Vec<&str> = decls.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "e"]);
        assert!(decls[1].body.is_some() && decls[0].body.is_none());
    }

    #[test]
    fn use_trees_are_spelled_out_and_paths_in_code_found() {
        let code = blank(
            "use crate::{a::X, b::{self, c::Y as Z}};\nuse super::d::*;\npub(crate) use base64ct::{Base64 as B, Encoding as _};\nfn f() { crate::e::g(); b::h(); let x = 1; }\n",
        );
        let paths: Vec<String> = paths(&code)
            .into_iter()
            .map(|p| p.segments.join("::"))
            .collect();
        assert_eq!(
            paths,
            [
                "crate::a::X",
                "crate::b",
                "crate::b::c::Y",
                "super::d",
                "base64ct::Base64",
                "base64ct::Encoding",
                "crate::e::g",
                "b::h"
            ]
        );
    }
}
