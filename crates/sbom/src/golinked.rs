//! What Go code a binary links: the function names and source files of its pclntab, the table
//! the Go runtime itself uses for stack traces (kept in stripped binaries too). The function-name
//! table also holds the names of functions that were only inlined, so a vulnerable function
//! that the compiler inlined everywhere is still seen. This is what lets the scanner say that a
//! Go vulnerability's code is not in a binary (OpenVEX `vulnerable_code_not_present`), as
//! govulncheck does in binary mode.
//!
//! Hand-written: the layout is the runtime's `pcHeader` (runtime/symtab.go) for Go 1.16 and
//! later; no maintained crate reads it. Anything unexpected gives `None`: absence is only ever
//! claimed from a table that was read whole.

use std::collections::{BTreeMap, BTreeSet};

use object::{Object, ObjectSection};

/// The code a Go binary links, by package.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GoLinked {
    /// Every function name, as the pclntab spells it (`net/http.(*Server).Serve`).
    functions: BTreeSet<String>,
    /// Source file paths, with module versions (`@v1.2.3`) taken out.
    files: BTreeSet<String>,
}

impl GoLinked {
    /// Reads an executable's pclntab. `None`: not a Go binary, or a table this cannot read.
    pub fn read(bytes: &[u8]) -> Option<GoLinked> {
        let table = pclntab(bytes)?;
        parse(table)
    }

    pub fn functions(&self) -> usize {
        self.functions.len()
    }

    /// Whether any code of package `path` is linked: a function of it (inlined or not), or a
    /// source file in its directory (or below: a subpackage counts, which only errs on the side
    /// of "present").
    pub fn has_package(&self, path: &str) -> bool {
        let prefix = format!("{path}.");
        let vendored = format!("/{path}.");
        let dir = format!("{path}/");
        let inner = format!("/{path}/");
        self.functions.iter().any(|f| f.starts_with(&prefix) || f.contains(&vendored))
            || self.files.iter().any(|f| f.starts_with(&dir) || f.contains(&inner))
    }

    /// Whether a symbol of package `path`, named as the Go vulnerability database names them
    /// (`Server.Serve`, `ListenAndServe`), is linked, inlined or not; its closures and generic
    /// instances count.
    pub fn has_symbol(&self, path: &str, symbol: &str) -> bool {
        let prefix = format!("{path}.");
        self.functions.iter().any(|f| {
            let Some(index) = f.find(&prefix).filter(|i| *i == 0 || f.as_bytes()[i - 1] == b'/') else {
                return false;
            };
            let name = normalize(&f[index + prefix.len()..]);
            name == symbol || name.starts_with(&format!("{symbol}."))
        })
    }
}

/// `(*Server).Serve` → `Server.Serve`; `Map[...].Load` → `Map.Load`.
fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut depth = 0usize;
    for c in name.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '(' | ')' | '*' if depth == 0 => {}
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The pclntab: its section when the binary has section headers, else found by its header.
fn pclntab(bytes: &[u8]) -> Option<&[u8]> {
    if let Ok(file) = object::File::parse(bytes) {
        for name in [".gopclntab", ".data.rel.ro.gopclntab"] {
            if let Some(section) = file.section_by_name(name)
                && let Ok(data) = section.data()
                && header(data).is_some()
            {
                return Some(data);
            }
        }
    }
    // Go's own debug/buildinfo-style search: the magic, then a plausible header.
    let mut at = 0;
    while let Some(found) = memchr::memmem::find(&bytes[at..], &[0xff, 0xff, 0xff]) {
        let start = (at + found).checked_sub(1)?;
        if start % 4 == 0 && header(&bytes[start..]).is_some() {
            return Some(&bytes[start..]);
        }
        at += found + 1;
    }
    None
}

/// The offsets of the function-name and file tables: `(funcname, cu, filetab, pctab)`.
fn header(table: &[u8]) -> Option<(usize, usize, usize, usize)> {
    let magic = u32::from_le_bytes(table.get(..4)?.try_into().ok()?);
    let (pad, min_lc, ptr) = (table.get(4..6)?, *table.get(6)?, *table.get(7)?);
    if pad != [0, 0] || !matches!(min_lc, 1 | 2 | 4) || !matches!(ptr, 4 | 8) {
        return None;
    }
    let word = |i: usize| -> Option<usize> {
        let at = 8 + i * usize::from(ptr);
        let raw = table.get(at..at + usize::from(ptr))?;
        let value = if ptr == 8 {
            u64::from_le_bytes(raw.try_into().ok()?)
        } else {
            u64::from(u32::from_le_bytes(raw.try_into().ok()?))
        };
        usize::try_from(value).ok()
    };
    // Go 1.18+ (0xfffffff0, 1.20+ 0xfffffff1): nfunc, nfiles, textStart, funcname, cu, filetab,
    // pctab, pcln. Go 1.16/1.17 (0xfffffffa): the same without textStart.
    let first = match magic {
        0xffff_fff0 | 0xffff_fff1 => 3,
        0xffff_fffa => 2,
        _ => return None,
    };
    let (funcname, cu, filetab, pctab) = (word(first)?, word(first + 1)?, word(first + 2)?, word(first + 3)?);
    let ordered = funcname < cu && cu <= filetab && filetab <= pctab && pctab <= table.len();
    ordered.then_some((funcname, cu, filetab, pctab))
}

fn parse(table: &[u8]) -> Option<GoLinked> {
    let (funcname, cu, filetab, pctab) = header(table)?;
    let strings = |range: &[u8]| -> BTreeSet<String> {
        range.split(|b| *b == 0).filter(|s| !s.is_empty()).map(|s| String::from_utf8_lossy(s).into_owned()).collect()
    };
    let functions = strings(table.get(funcname..cu)?);
    if functions.is_empty() {
        return None;
    }
    let files = strings(table.get(filetab..pctab)?).into_iter().map(|f| strip_versions(&f)).collect();
    Some(GoLinked { functions, files })
}

/// `/root/go/pkg/mod/golang.org/x/net@v0.17.0/http2/frame.go` → `…/golang.org/x/net/http2/frame.go`.
fn strip_versions(path: &str) -> String {
    path.split('/').map(|part| part.split_once('@').map_or(part, |(name, _)| name)).collect::<Vec<_>>().join("/")
}

/// Go binaries' linked code by path, for the scanner.
pub type LinkedBinaries = BTreeMap<String, Option<GoLinked>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn linked(functions: &[&str], files: &[&str]) -> GoLinked {
        GoLinked {
            functions: functions.iter().map(|s| s.to_string()).collect(),
            files: files.iter().map(|s| strip_versions(s)).collect(),
        }
    }

    #[test]
    fn packages_and_symbols() {
        let l = linked(
            &[
                "net/http.(*Server).Serve",
                "net/http.(*Server).Serve.func1",
                "sync.(*Map[...]).Load",
                "gopkg.in/yaml.v3.(*decoder).unmarshal",
                "vendor/golang.org/x/net/http2/hpack.(*Decoder).Write",
                "main.main",
            ],
            &["/root/go/pkg/mod/golang.org/x/text@v0.14.0/unicode/norm/normalize.go", "/usr/lib/go/src/fmt/print.go"],
        );
        assert!(l.has_package("net/http"));
        assert!(l.has_package("gopkg.in/yaml.v3"));
        assert!(l.has_package("golang.org/x/net/http2/hpack"), "vendored into the standard library");
        assert!(l.has_package("golang.org/x/text/unicode/norm"), "from its source files alone");
        assert!(l.has_package("fmt"));
        assert!(!l.has_package("net/http/cookiejar"));
        assert!(!l.has_package("crypto/tls"));
        assert!(l.has_symbol("net/http", "Server.Serve"));
        assert!(!l.has_symbol("net/http", "Client.Do"));
        assert!(!l.has_symbol("net/http", "Serve"), "`Serve` is a function, not the method");
        assert!(l.has_symbol("sync", "Map.Load"));
        assert!(l.has_symbol("gopkg.in/yaml.v3", "decoder.unmarshal"));
        assert!(l.has_symbol("golang.org/x/net/http2/hpack", "Decoder.Write"));
        assert_eq!(normalize("(*Map[go.shape.string]).Load"), "Map.Load");
    }

    #[test]
    fn garbage_is_not_a_table() {
        assert!(GoLinked::read(b"").is_none());
        assert!(GoLinked::read(b"\x7fELF not really").is_none());
        let mut fake = vec![0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8];
        fake.extend([0xff; 80]);
        assert!(GoLinked::read(&fake).is_none(), "offsets out of order or out of bounds");
    }
}
