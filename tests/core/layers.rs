//! The crate's modules import each other in one direction only: no module imports a module that
//! imports it back, directly or through others.
//!
//! The module graph is read from the source: every `.rs` file under `src/` (but `main.rs`, a
//! crate of its own) is a module, and every path starting with `crate::`, `super::` or `self::`
//! (in `use` trees and in code) is an edge to the module it names, following `pub use`
//! re-exports to the module that defines the item. A module and the modules inside it are one
//! unit seen from outside, so edges between a module and its own submodules do not count; every
//! other cycle does. It is checked level by level: among the submodules of each module, the
//! submodule A depends on its sibling B when anything inside A reaches anything inside B, and
//! those dependencies must form no circle. A cycle between files always shows as a circle among
//! the siblings at the level where their paths part.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// A module's path from the crate root (`["channels", "engine"]`); the root is empty.
type ModPath = Vec<String>;

/// What one file says: the paths it names (with the module they are named from) and what it
/// re-exports.
#[derive(Default)]
struct FileInfo {
    paths: Vec<(ModPath, Vec<String>)>,
    reexports: HashMap<String, (ModPath, Vec<String>)>,
}

/// Every module file under `dir`, by module path.
fn module_files(root: &Path, dir: &Path, out: &mut BTreeMap<ModPath, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read the source folder")
        .map(|e| e.expect("a folder entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            module_files(root, &path, out);
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let relative = path.strip_prefix(root).expect("under src");
        let mut segments: ModPath = relative
            .with_extension("")
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        if segments == ["main"] {
            continue;
        }
        if matches!(segments.last().map(String::as_str), Some("mod" | "lib")) {
            segments.pop();
        }
        let text = std::fs::read_to_string(&path).expect("read a source file");
        out.insert(segments, text);
    }
}

/// The source without comments, and with every string and character literal emptied.
fn strip(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let at = |i: usize, s: &str| {
        s.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    while i < chars.len() {
        let c = chars[i];
        if at(i, "//") {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if at(i, "/*") {
            let mut depth = 0;
            while i < chars.len() {
                if at(i, "/*") {
                    depth += 1;
                    i += 2;
                } else if at(i, "*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            continue;
        }
        let starts_word = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if starts_word && (c == 'r' || (c == 'b' && chars.get(i + 1) == Some(&'r'))) {
            let mut j = i + if c == 'b' { 2 } else { 1 };
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) == Some(&'"') {
                j += 1;
                loop {
                    if j >= chars.len() {
                        break;
                    }
                    if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                out.push_str("\"\"");
                i = j;
                continue;
            }
        }
        if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
            continue;
        }
        if c == '\'' {
            if chars.get(i + 1) == Some(&'\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
                continue;
            }
            if chars.get(i + 2) == Some(&'\'') {
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Identifiers, `::` and single punctuation characters.
fn tokens(source: &str) -> Vec<String> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push("::".to_owned());
            i += 2;
        } else {
            out.push(c.to_string());
            i += 1;
        }
    }
    out
}

fn is_ident(token: &str) -> bool {
    token
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// Reads a path or a `use` tree starting at `tokens[k]`: the paths it names and where it ends.
fn path_tree(tokens: &[String], mut k: usize) -> (Vec<Vec<String>>, usize) {
    let mut segments = Vec::new();
    while let Some(token) = tokens.get(k) {
        if token == "{" {
            let mut paths = Vec::new();
            k += 1;
            while tokens.get(k).is_some_and(|t| t != "}") {
                let (inner, next) = path_tree(tokens, k);
                paths.extend(inner.into_iter().map(|p| [segments.clone(), p].concat()));
                k = next;
                if tokens.get(k).is_some_and(|t| t == ",") {
                    k += 1;
                }
            }
            return (paths, k + 1);
        }
        if token == "*" {
            segments.push("*".to_owned());
            return (vec![segments], k + 1);
        }
        if !is_ident(token) {
            break;
        }
        segments.push(token.clone());
        k += 1;
        if tokens.get(k).is_some_and(|t| t == "as") {
            k += 2;
        }
        if tokens.get(k).is_some_and(|t| t == "::") {
            k += 1;
        } else {
            break;
        }
    }
    (vec![segments], k)
}

/// The paths a module file names, and its re-exports.
fn read_file(module: &ModPath, text: &str, modules: &BTreeSet<ModPath>) -> FileInfo {
    let tokens = tokens(&strip(text));
    let mut info = FileInfo::default();
    // Inline `mod name { ... }` blocks: the brace depth inside each, and its name.
    let mut inline: Vec<(usize, String)> = Vec::new();
    let mut depth = 0;
    let mut k = 0;
    while k < tokens.len() {
        let token = tokens[k].as_str();
        if token == "mod" && tokens.get(k + 2).is_some_and(|t| t == "{") {
            depth += 1;
            inline.push((depth, tokens[k + 1].clone()));
            k += 3;
            continue;
        }
        if token == "{" {
            depth += 1;
        } else if token == "}" {
            if inline.last().is_some_and(|(d, _)| *d == depth) {
                inline.pop();
            }
            depth = depth.saturating_sub(1);
        }
        let current: ModPath = module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(_, name)| name.clone()))
            .collect();
        if token == "use" {
            let public = k > 0 && (tokens[k - 1] == "pub" || tokens[k - 1] == ")");
            let (trees, next) = path_tree(&tokens, k + 1);
            for mut segments in trees {
                let Some(first) = segments.first() else {
                    continue;
                };
                let relative = matches!(first.as_str(), "crate" | "super" | "self");
                // `pub use child::Item` in a module re-exports from its own submodule.
                let child = !relative && {
                    let mut path = module.clone();
                    path.push(first.clone());
                    modules.contains(&path)
                };
                if !relative && !child {
                    continue;
                }
                if child {
                    segments.insert(0, "self".to_owned());
                }
                if public && inline.is_empty() {
                    let named = if segments.last().is_some_and(|s| s == "self") {
                        segments.pop();
                        segments.last().cloned()
                    } else {
                        segments.last().cloned()
                    };
                    if let Some(name) = named.filter(|n| n != "*") {
                        info.reexports
                            .insert(name, (current.clone(), segments.clone()));
                    }
                }
                info.paths.push((current.clone(), segments));
            }
            k = next;
            continue;
        }
        let path_start = matches!(token, "crate" | "super" | "self")
            && tokens.get(k + 1).is_some_and(|t| t == "::")
            && (k == 0 || tokens[k - 1] != "::");
        if path_start {
            let (trees, next) = path_tree(&tokens, k);
            info.paths
                .extend(trees.into_iter().map(|p| (current.clone(), p)));
            k = next;
            continue;
        }
        k += 1;
    }
    info
}

/// `segments` named from module `from`, as a path from the crate root.
fn absolute(from: &ModPath, segments: &[String]) -> Vec<String> {
    let (mut base, mut rest): (ModPath, &[String]) = match segments.first().map(String::as_str) {
        Some("crate") => (Vec::new(), &segments[1..]),
        Some("self") => (from.clone(), &segments[1..]),
        Some("super") => (
            from[..from.len().saturating_sub(1)].to_vec(),
            &segments[1..],
        ),
        _ => (from.clone(), segments),
    };
    while rest.first().is_some_and(|s| s == "super") {
        base.pop();
        rest = &rest[1..];
    }
    base.extend(rest.iter().filter(|s| *s != "self").cloned());
    base
}

/// The module file that defines what `path` names, following re-exports.
fn resolve(path: &[String], files: &BTreeMap<ModPath, FileInfo>, hops: usize) -> ModPath {
    let mut module = Vec::new();
    let mut i = 0;
    while i < path.len() {
        let mut longer = module.clone();
        longer.push(path[i].clone());
        if !files.contains_key(&longer) {
            break;
        }
        module = longer;
        i += 1;
    }
    if let (Some(name), Some(info)) = (path.get(i), files.get(&module))
        && hops < 8
        && let Some((from, segments)) = info.reexports.get(name)
    {
        let mut target = absolute(from, segments);
        target.extend(path[i + 1..].iter().cloned());
        return resolve(&target, files, hops + 1);
    }
    module
}

/// The module graph of the crate under `src`: for each module file, the module files it names.
fn graph(src: &Path) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
    let mut texts = BTreeMap::new();
    module_files(src, src, &mut texts);
    let modules: BTreeSet<ModPath> = texts.keys().cloned().collect();
    let files: BTreeMap<ModPath, FileInfo> = texts
        .iter()
        .map(|(module, text)| (module.clone(), read_file(module, text, &modules)))
        .collect();
    let mut edges: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (module, info) in &files {
        for (from, segments) in &info.paths {
            let target = resolve(&absolute(from, segments), &files, 0);
            if &target != module {
                edges.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    edges
}

/// The circles among siblings, each as the siblings in it and the files behind each step.
fn circles(edges: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<String> {
    // For each parent module: sibling -> sibling -> the file edges behind it.
    let mut levels: BTreeMap<ModPath, Level> = BTreeMap::new();
    for (a, targets) in edges {
        for b in targets {
            let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
            if common == a.len() || common == b.len() {
                continue; // a module and its own submodules
            }
            levels
                .entry(a[..common].to_vec())
                .or_default()
                .entry(a[..=common].to_vec())
                .or_default()
                .entry(b[..=common].to_vec())
                .or_default()
                .push(format!("{} -> {}", a.join("/"), b.join("/")));
        }
    }
    let mut found = Vec::new();
    for (parent, level) in &levels {
        for component in strongly_connected(level) {
            let mut steps = Vec::new();
            for a in &component {
                for (b, why) in &level[a] {
                    if component.contains(b) {
                        steps.extend(why.iter().cloned());
                    }
                }
            }
            let names: Vec<String> = component.iter().map(|m| m.join("/")).collect();
            let parent = if parent.is_empty() {
                "crate".to_owned()
            } else {
                parent.join("/")
            };
            found.push(format!(
                "in {parent}: {} ({})",
                names.join(", "),
                steps.join("; ")
            ));
        }
    }
    found
}

/// Each module's siblings it depends on, with the file edges behind each dependency.
type Level = BTreeMap<ModPath, BTreeMap<ModPath, Vec<String>>>;

/// The strongly connected components with more than one node (Tarjan's algorithm).
fn strongly_connected(graph: &Level) -> Vec<BTreeSet<ModPath>> {
    struct State<'a> {
        index: HashMap<&'a ModPath, usize>,
        low: HashMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        on_stack: BTreeSet<&'a ModPath>,
        out: Vec<BTreeSet<ModPath>>,
    }
    fn visit<'a>(v: &'a ModPath, graph: &'a Level, s: &mut State<'a>) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        let targets: Vec<&ModPath> = graph.get(v).map(|m| m.keys().collect()).unwrap_or_default();
        for w in targets {
            if !s.index.contains_key(w) {
                visit(w, graph, s);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.insert(w.clone());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.out.push(component);
            }
        }
    }
    let mut state = State {
        index: HashMap::new(),
        low: HashMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v) {
            visit(v, graph, &mut state);
        }
    }
    state.out
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = circles(&graph(&src));
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

/// The reader finds what it is meant to: edges through `use` trees, paths in code, inline test
/// modules and re-exports, and the circles they make.
#[test]
fn the_module_graph_is_read_from_paths_and_re_exports() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let src = dir.path();
    let write = |path: &str, text: &str| {
        let path = src.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create a folder");
        std::fs::write(path, text).expect("write a file");
    };
    write("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n");
    write(
        "a/mod.rs",
        "mod x;\nmod y;\npub use x::Thing;\n// crate::c is only named in a comment\n",
    );
    write(
        "a/x.rs",
        "use super::y::{self, Other};\npub struct Thing;\n",
    );
    write(
        "a/y.rs",
        "pub struct Other;\nfn f() { let _ = \"crate::b::Nope\"; }\n#[cfg(test)]\nmod tests { use super::*; }\n",
    );
    write(
        "b.rs",
        "pub fn g() -> crate::a::Thing { crate::a::Thing }\n",
    );
    write("c.rs", "use crate::b;\n");
    let edges = graph(src);
    let path = |s: &str| s.split('/').map(str::to_owned).collect::<ModPath>();
    // `crate::a::Thing` is `a/x.rs`'s, re-exported by `a`.
    assert_eq!(edges[&path("b")], BTreeSet::from([path("a/x")]));
    assert_eq!(edges[&path("a/x")], BTreeSet::from([path("a/y")]));
    assert!(!edges.contains_key(&path("a/y")), "{edges:?}");
    assert!(circles(&edges).is_empty());
    // `a/y` reaching `b` closes a circle a -> b -> a at the top, seen from the files behind it.
    write("a/y.rs", "pub struct Other;\nfn f() { crate::b::g(); }\n");
    let found = circles(&graph(src));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("in crate: a, b") && found[0].contains("a/y -> b"),
        "{found:?}"
    );
    // Siblings that name each other directly.
    write("a/y.rs", "pub struct Other;\nuse super::x::Thing;\n");
    let found = circles(&graph(src));
    assert!(
        found.iter().any(|c| c.starts_with("in a: a/x, a/y")),
        "{found:?}"
    );
}
