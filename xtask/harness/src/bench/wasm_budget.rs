//! What a `.wasm` is made of, for the line the worker's size row adds when it
//! is over its budget: the biggest functions and the crates they come from.
//!
//! The module the browser gets has no names (wasm-bindgen drops the name
//! section, which is half the file), so this reads the one cargo built, which
//! `cargo xtask build` keeps beside the site. Sizes are of the function
//! bodies before wasm-bindgen and before gzip: gzip cannot be split by
//! function, but what is big raw is what to cut.

use std::collections::HashMap;

use anyhow::{Context, Result, bail, ensure};

/// The prefix of wasm-bindgen's describe functions.
const DESCRIBE: &str = "__wbindgen_describe";

/// A module's code, function by function, and its data.
pub struct Contents {
    /// Each function body's name (demangled where it is Rust's) and size.
    pub functions: Vec<(String, usize)>,
    /// The data section's size: string constants, tables.
    pub data: usize,
}

impl Contents {
    /// The budget line: the data, the `crates` biggest crates by code and
    /// the `functions` biggest functions, in bytes.
    pub fn line(&self, crates: usize, functions: usize) -> String {
        let code: usize = self.functions.iter().map(|(_, size)| size).sum();
        let mut by_crate: HashMap<&str, usize> = HashMap::new();
        for (name, size) in &self.functions {
            *by_crate.entry(crate_of(name)).or_default() += size;
        }
        let mut by_crate: Vec<_> = by_crate.into_iter().collect();
        by_crate.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let mut biggest = self.functions.clone();
        biggest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let crates = by_crate
            .iter()
            .take(crates)
            .map(|(name, size)| format!("{name} {size}"))
            .collect::<Vec<_>>()
            .join(", ");
        let functions = biggest
            .iter()
            .take(functions)
            .map(|(name, size)| format!("`{name}` {size}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "code {code} B in {} functions, data {} B; by crate: {crates}; biggest functions: {functions}",
            self.functions.len(),
            self.data
        )
    }
}

/// Reads a module's function bodies, their names and its data section.
pub fn contents(wasm: &[u8]) -> Result<Contents> {
    let mut r = Reader { bytes: wasm, at: 0 };
    ensure!(
        r.take(8)? == b"\0asm\x01\0\0\0",
        "not a WebAssembly module (version 1)"
    );
    let (mut imported, mut bodies, mut data) = (0, Vec::new(), 0);
    let mut names: HashMap<u32, String> = HashMap::new();
    while r.at < wasm.len() {
        let id = r.byte()?;
        let size = r.leb()? as usize;
        let mut section = Reader {
            bytes: r.take(size)?,
            at: 0,
        };
        match id {
            2 => imported = imported_functions(&mut section)?,
            10 => {
                for _ in 0..section.leb()? {
                    let body = section.leb()? as usize;
                    section.take(body)?;
                    bodies.push(body);
                }
            }
            11 => data = size,
            0 if section.name()? == "name" => names = function_names(&mut section)?,
            _ => {}
        }
    }
    let functions = bodies
        .into_iter()
        .enumerate()
        .map(|(i, size)| {
            let index = imported + i as u32;
            let name = names
                .remove(&index)
                .map_or_else(|| format!("#{index}"), |n| demangle(&n));
            (name, size)
        })
        // wasm-bindgen runs these at build time to learn the exports' types,
        // then removes them: they never reach the browser.
        .filter(|(name, _)| !name.starts_with(DESCRIBE))
        .collect();
    Ok(Contents { functions, data })
}

/// How many of the imports are functions: they come first in the function
/// index space that the name section counts in.
fn imported_functions(r: &mut Reader) -> Result<u32> {
    let mut functions = 0;
    for _ in 0..r.leb()? {
        r.name()?;
        r.name()?;
        match r.byte()? {
            0 => {
                r.leb()?;
                functions += 1;
            }
            1 => {
                r.byte()?;
                r.limits()?;
            }
            2 => r.limits()?,
            3 => {
                r.byte()?;
                r.byte()?;
            }
            4 => {
                r.byte()?;
                r.leb()?;
            }
            kind => bail!("an import of unknown kind {kind}"),
        }
    }
    Ok(functions)
}

/// The name section's function names (subsection 1), by function index.
fn function_names(r: &mut Reader) -> Result<HashMap<u32, String>> {
    let mut names = HashMap::new();
    while r.at < r.bytes.len() {
        let id = r.byte()?;
        let size = r.leb()? as usize;
        let mut sub = Reader {
            bytes: r.take(size)?,
            at: 0,
        };
        if id == 1 {
            for _ in 0..sub.leb()? {
                let index = sub.leb()?;
                names.insert(index, sub.name()?.to_owned());
            }
        }
    }
    Ok(names)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        let end =
            end.with_context(|| format!("the module ends inside a part at byte {}", self.at))?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    /// An unsigned LEB128 number of at most 32 bits.
    fn leb(&mut self) -> Result<u32> {
        let mut value: u32 = 0;
        for shift in (0..35).step_by(7) {
            let byte = self.byte()?;
            value |= u32::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        bail!("a number longer than 32 bits at byte {}", self.at)
    }

    fn name(&mut self) -> Result<&'a str> {
        let len = self.leb()? as usize;
        std::str::from_utf8(self.take(len)?).context("a name that is not UTF-8")
    }

    fn limits(&mut self) -> Result<()> {
        let flags = self.byte()?;
        self.leb()?;
        if flags & 1 != 0 {
            self.leb()?;
        }
        Ok(())
    }
}

/// A Rust symbol demangled without its hash (`core::fmt::write`); other
/// names as they are.
fn demangle(symbol: &str) -> String {
    format!("{:#}", rustc_demangle::demangle(symbol))
}

/// The crate a demangled name's code is from: the first path in it (in
/// `<T as core::fmt::Debug>::fmt`, `core`); names that are not Rust's paths
/// (wasm-bindgen's, an index) count as `(other)`.
fn crate_of(name: &str) -> &str {
    let mut start = 0;
    for (i, c) in name.char_indices() {
        if c.is_ascii_alphanumeric() || c == '_' {
            continue;
        }
        if name[i..].starts_with("::") && i > start {
            let word = &name[start..i];
            if word.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
                return word;
            }
        }
        start = i + c.len_utf8();
    }
    "(other)"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    fn section(id: u8, payload: &[u8], out: &mut Vec<u8>) {
        out.push(id);
        leb(payload.len(), out);
        out.extend_from_slice(payload);
    }

    fn name(text: &str, out: &mut Vec<u8>) {
        leb(text.len(), out);
        out.extend_from_slice(text.as_bytes());
    }

    /// A module of one imported function, three bodies (3, 200 and 50
    /// bytes, the last one of wasm-bindgen's describe functions), 5 bytes
    /// of data, and names for the import and the bodies.
    fn module() -> Vec<u8> {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        let mut imports = vec![1];
        name("wbg", &mut imports);
        name("__wbg_log", &mut imports);
        imports.extend_from_slice(&[0, 0]);
        section(2, &imports, &mut wasm);
        let mut code = vec![3];
        for body in [3, 200, 50] {
            leb(body, &mut code);
            code.extend(std::iter::repeat_n(0x01, body));
        }
        section(10, &code, &mut wasm);
        section(11, &[0; 5], &mut wasm);
        let mut names = Vec::new();
        name("name", &mut names);
        let mut functions = vec![4];
        for (index, symbol) in [
            (0, "__wbg_log"),
            (1, "_ZN4core3fmt5write17h0123456789abcdefE"),
            (
                2,
                "_ZN90_$LT$after_sync_lesson..article..Article$u20$as$u20$after_sync_lesson..js_codec..Plain$GT$5to_js17hfedcba9876543210E",
            ),
            (3, "__wbindgen_describe___wbg_log"),
        ] {
            functions.push(index);
            name(symbol, &mut functions);
        }
        names.push(1);
        leb(functions.len(), &mut names);
        names.extend_from_slice(&functions);
        section(0, &names, &mut wasm);
        wasm
    }

    #[test]
    fn functions_are_named_after_the_imports_and_demangled_without_describe() {
        let contents = contents(&module()).unwrap();
        assert_eq!(
            contents.functions,
            vec![
                ("core::fmt::write".to_owned(), 3),
                (
                    "<after_sync_lesson::article::Article as after_sync_lesson::js_codec::Plain>::to_js"
                        .to_owned(),
                    200
                ),
            ]
        );
        assert_eq!(contents.data, 5);
        assert_eq!(
            contents.line(1, 1),
            "code 203 B in 2 functions, data 5 B; by crate: after_sync_lesson 200; biggest functions: \
             `<after_sync_lesson::article::Article as after_sync_lesson::js_codec::Plain>::to_js` 200"
        );
    }

    #[test]
    fn crates_are_the_first_path_and_other_names_are_kept() {
        assert_eq!(crate_of("<T as core::convert::Into<U>>::into"), "core");
        assert_eq!(crate_of("js_sys::Promise::new"), "js_sys");
        assert_eq!(crate_of("__wbg_log"), "(other)");
        assert_eq!(demangle("__wbg_log"), "__wbg_log");
        assert_eq!(
            demangle("_RNvNtCsgXGp5Oqx2Ny_4core3fmt5write"),
            "core::fmt::write"
        );
    }

    #[test]
    fn a_file_that_is_not_a_module_or_is_cut_short_is_named() {
        let error = contents(b"GIF89a..").err().unwrap().to_string();
        assert!(error.contains("not a WebAssembly module"), "{error}");
        let module = module();
        let error = contents(&module[..module.len() - 3])
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("ends inside"), "{error}");
    }
}
