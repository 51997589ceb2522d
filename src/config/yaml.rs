//! YAML with positions: one parse per file into a [`Node`] tree that remembers the line of
//! every node, and a serde `Deserializer` over that tree whose errors name the key path and
//! line of the node they are about.
//!
//! Before this, every file was parsed twice: by serde_yaml (unmaintained, on unsafe-libyaml)
//! into values, and by yaml-rust2 again for line numbers. Now yaml-rust2's event stream is
//! read once; the raw config types still derive `Deserialize` with `deny_unknown_fields`.
//!
//! Scalars follow YAML 1.2's core schema (`true`, `null`, `~`, decimal, `0x`/`0o` integers,
//! floats, `.inf`, `.nan`); a quoted scalar is always a string. A field that asks for a
//! string gets a plain scalar's text as written (`oid: 1.30` stays `1.30`, not `1.3`).

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

/// One YAML node and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// 1-based line.
    pub line: usize,
    /// What the node holds.
    pub kind: Kind,
}

/// The shape of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A scalar, with whether it was written plain (unquoted), which decides its type.
    Scalar {
        /// The text as written (quotes removed, escapes resolved).
        text: String,
        /// Unquoted: subject to null/bool/number resolution.
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, entries in file order.
    Map(Vec<(Node, Node)>),
}

/// A key written twice in one mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The key's path (`devices[0].name`).
    pub path: String,
    /// Line of the second occurrence.
    pub line: usize,
    /// Line of the first occurrence.
    pub first_line: usize,
}

/// A YAML syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The parser's message.
    pub message: String,
}

/// A parsed document: its root (`None` for an empty file) and any duplicate keys.
#[derive(Debug, Default)]
pub struct Document {
    /// The root node; `None` for an empty document.
    pub root: Option<Node>,
    /// Keys given twice in one mapping (the later one is kept out of the tree).
    pub duplicates: Vec<Duplicate>,
}

/// Joins a mapping key onto a path.
pub fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Joins a sequence index onto a path.
pub fn join_index(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

enum Frame {
    Seq {
        line: usize,
        anchor: usize,
        path: String,
        items: Vec<Node>,
    },
    Map {
        line: usize,
        anchor: usize,
        path: String,
        entries: Vec<(Node, Node)>,
        pending_key: Option<Node>,
        seen: HashMap<String, usize>,
        /// The current entry is a duplicate: its value is parsed and dropped.
        skip: bool,
    },
}

impl Frame {
    /// The path of the node that starts next inside this frame.
    fn child_path(&self) -> String {
        match self {
            Frame::Seq { path, items, .. } => join_index(path, items.len()),
            Frame::Map {
                path,
                pending_key: Some(k),
                ..
            } => join_key(path, &k.key_text()),
            Frame::Map { path, .. } => join_key(path, "?"),
        }
    }
}

/// Parses one YAML document. More than one document in a file is an error (a config file
/// is one mapping); so is a syntax error. Anchors and aliases are resolved.
pub fn parse(text: &str) -> Result<Document, SyntaxError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut doc = Document::default();
    let mut documents = 0usize;
    loop {
        let (event, mark) = parser.next_token().map_err(|e| {
            let line = e.marker().line();
            let mut message = e.info().to_string();
            if let Some((open, at)) = unclosed_flow(text, e.marker().index()) {
                let close = if open == '[' { ']' } else { '}' };
                message.push_str(&format!(
                    " (the `{open}` on line {at} has no closing `{close}`; inside `[...]` and \
                     `{{...}}` a value containing `[ ] {{ }} ,` must be quoted)"
                ));
            }
            SyntaxError {
                line: Some(line),
                message,
            }
        })?;
        let line = mark.line();
        let finished: Option<(Node, usize)> = match event {
            Event::StreamEnd => break,
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(SyntaxError {
                        line: Some(line),
                        message: "more than one YAML document (`---`) in one file".into(),
                    });
                }
                None
            }
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => None,
            Event::Scalar(text, style, anchor, _tag) => Some((
                Node {
                    line,
                    kind: Kind::Scalar {
                        text,
                        plain: style == TScalarStyle::Plain,
                    },
                },
                anchor,
            )),
            Event::Alias(id) => match anchors.get(&id) {
                Some(n) => Some((n.clone(), 0)),
                None => {
                    return Err(SyntaxError {
                        line: Some(line),
                        message: "alias to an unknown anchor".into(),
                    })
                }
            },
            Event::SequenceStart(anchor, _) => {
                let path = stack.last().map(Frame::child_path).unwrap_or_default();
                stack.push(Frame::Seq {
                    line,
                    anchor,
                    path,
                    items: Vec::new(),
                });
                None
            }
            Event::MappingStart(anchor, _) => {
                let path = stack.last().map(Frame::child_path).unwrap_or_default();
                stack.push(Frame::Map {
                    line,
                    anchor,
                    path,
                    entries: Vec::new(),
                    pending_key: None,
                    seen: HashMap::new(),
                    skip: false,
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq {
                    line,
                    anchor,
                    items,
                    ..
                }) => Some((
                    Node {
                        line,
                        kind: Kind::Seq(items),
                    },
                    anchor,
                )),
                Some(Frame::Map {
                    line,
                    anchor,
                    entries,
                    ..
                }) => Some((
                    Node {
                        line,
                        kind: Kind::Map(entries),
                    },
                    anchor,
                )),
                None => None,
            },
        };
        let Some((node, anchor)) = finished else {
            continue;
        };
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => doc.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                path,
                entries,
                pending_key,
                seen,
                skip,
                ..
            }) => match pending_key.take() {
                None => {
                    let key = node.key_text();
                    if let Some(&first) = seen.get(&key) {
                        doc.duplicates.push(Duplicate {
                            path: join_key(path, &key),
                            line: node.line,
                            first_line: first,
                        });
                        *skip = true;
                    } else {
                        seen.insert(key, node.line);
                        *skip = false;
                    }
                    *pending_key = Some(node);
                }
                Some(key) => {
                    if !*skip {
                        entries.push((key, node));
                    }
                }
            },
        }
    }
    Ok(doc)
}

impl Node {
    /// A key's text: a scalar as written; other nodes get a placeholder.
    pub fn key_text(&self) -> String {
        match &self.kind {
            Kind::Scalar { text, .. } => text.clone(),
            _ => "?".to_string(),
        }
    }

    /// True for an empty plain scalar, `~` or `null`.
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, plain: true } if is_null_text(text))
    }

    /// What the node is, for messages ("a mapping").
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
            Kind::Scalar { .. } if self.is_null() => "nothing",
            Kind::Scalar { text, plain: true } => match resolve(text) {
                Resolved::Bool(_) => "a boolean",
                Resolved::Int(_) | Resolved::Uint(_) | Resolved::Float(_) => "a number",
                _ => "a string",
            },
            Kind::Scalar { .. } => "a string",
        }
    }

    /// The entries of a mapping (empty for anything else).
    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.kind {
            Kind::Map(e) => e,
            _ => &[],
        }
    }

    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()
            .iter()
            .find(|(k, _)| matches!(&k.kind, Kind::Scalar { text, .. } if text == key))
            .map(|(_, v)| v)
    }

    /// The line of the node at `path` (as built by [`join_key`] and [`join_index`]), or of
    /// its closest ancestor that exists. Keys may themselves contain dots: at each mapping
    /// the longest key that matches the path's next part is taken.
    pub fn line_at(&self, path: &str) -> usize {
        let mut node = self;
        // The line of the path walked so far: a mapping entry's is its key's line.
        let mut line = self.line;
        let mut rest = path;
        loop {
            rest = rest.strip_prefix('.').unwrap_or(rest);
            if rest.is_empty() {
                return line;
            }
            let next =
                match &node.kind {
                    Kind::Seq(items) => rest
                        .strip_prefix('[')
                        .and_then(|r| r.split_once(']'))
                        .and_then(|(i, r)| {
                            let item = items.get(i.parse::<usize>().ok()?)?;
                            Some((item, item.line, r))
                        }),
                    Kind::Map(entries) => {
                        entries
                            .iter()
                            .filter_map(|(k, v)| {
                                let Kind::Scalar { text, .. } = &k.kind else {
                                    return None;
                                };
                                let r = rest.strip_prefix(text.as_str())?;
                                (r.is_empty() || r.starts_with('.') || r.starts_with('['))
                                    .then_some((text.len(), v, k.line, r))
                            })
                            .max_by_key(|(len, ..)| *len)
                            .map(|(_, v, l, r)| (v, l, r))
                    }
                    Kind::Scalar { .. } => None,
                };
            match next {
                Some((n, l, r)) => {
                    node = n;
                    line = l;
                    rest = r;
                }
                None => return line,
            }
        }
    }
}

/// The innermost flow bracket (`[` or `{`) still open `upto` characters into `text`, with
/// its line: a hint for the parser's terse message on an unclosed flow list or mapping
/// (a heuristic: quotes and comments are skipped, block scalars are not understood).
fn unclosed_flow(text: &str, upto: usize) -> Option<(char, usize)> {
    let mut open: Vec<(char, usize)> = Vec::new();
    let (mut line, mut quote, mut comment, mut prev) = (1, None, false, ' ');
    for c in text.chars().take(upto) {
        match (quote, c) {
            (_, '\n') => {
                line += 1;
                quote = None;
                comment = false;
            }
            _ if comment => {}
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '#') if prev.is_whitespace() => comment = true,
            (None, '\'' | '"') if prev.is_whitespace() || "[{,:".contains(prev) => quote = Some(c),
            (None, '[' | '{') => open.push((c, line)),
            (None, ']' | '}') => {
                open.pop();
            }
            _ => {}
        }
        prev = c;
    }
    open.pop()
}

fn is_null_text(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

enum Resolved<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(&'a str),
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn resolve(s: &str) -> Resolved<'_> {
    if is_null_text(s) {
        return Resolved::Null;
    }
    match s {
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        _ => {}
    }
    let digits = |t: &str, radix: u32| !t.is_empty() && t.chars().all(|c| c.is_digit(radix));
    if let Some(h) = s.strip_prefix("0x") {
        if digits(h, 16) {
            if let Ok(v) = u64::from_str_radix(h, 16) {
                return int_or_uint(v);
            }
        }
    }
    if let Some(o) = s.strip_prefix("0o") {
        if digits(o, 8) {
            if let Ok(v) = u64::from_str_radix(o, 8) {
                return int_or_uint(v);
            }
        }
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits(unsigned, 10) {
        if let Ok(v) = s.parse::<i64>() {
            return Resolved::Int(v);
        }
        if let Ok(v) = s.trim_start_matches('+').parse::<u64>() {
            return Resolved::Uint(v);
        }
    }
    if is_float_text(unsigned) {
        if let Ok(v) = s.parse::<f64>() {
            return Resolved::Float(v);
        }
    }
    Resolved::Str(s)
}

fn int_or_uint(v: u64) -> Resolved<'static> {
    i64::try_from(v).map_or(Resolved::Uint(v), Resolved::Int)
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` (sign already stripped).
fn is_float_text(s: &str) -> bool {
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let num = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => num(frac),
        Some((int, frac)) => num(int) && (frac.is_empty() || num(frac)),
        None => num(mantissa),
    };
    let exp_ok = exp.is_none_or(|e| num(e.strip_prefix(['-', '+']).unwrap_or(e)));
    mantissa_ok && exp_ok
}

// === Errors ===

/// A deserialisation error at a node: its key path and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeError {
    /// Key path of the node the error is about.
    pub path: String,
    /// Its 1-based line.
    pub line: usize,
    /// serde's message.
    pub message: String,
    located: bool,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            path: String::new(),
            line: 0,
            message: msg.to_string(),
            located: false,
        }
    }
}

impl DeError {
    /// Gives an error that does not know where it is the place of `node`.
    fn at(mut self, node: &Node, path: &str) -> Self {
        if !self.located {
            self.path = path.to_string();
            self.line = node.line;
            self.located = true;
        }
        self
    }
}

// === Deserializer ===

/// Deserialises `T` from `node`, whose key path is `path`.
pub fn from_node<T: DeserializeOwned>(node: &Node, path: &str) -> Result<T, DeError> {
    T::deserialize(NodeDe { node, path }).map_err(|e| e.at(node, path))
}

/// Deserialises `T` from some entries of a mapping at `path`, as if they were the whole
/// mapping (to check one key at a time).
pub fn from_entries<T: DeserializeOwned>(
    map: &Node,
    entries: &[(Node, Node)],
    path: &str,
) -> Result<T, DeError> {
    T::deserialize(EntriesDe { entries, path }).map_err(|e| e.at(map, path))
}

/// Deserialises a YAML text straight into `T` (for small files such as the web config);
/// the error says `line N: message` or `key: message`.
pub fn from_str<T: DeserializeOwned + Default>(text: &str) -> Result<T, String> {
    let doc = parse(text).map_err(|e| match e.line {
        Some(l) => format!("line {l}: invalid YAML: {}", e.message),
        None => format!("invalid YAML: {}", e.message),
    })?;
    if let Some(d) = doc.duplicates.first() {
        return Err(format!(
            "line {}: {}: key given twice (first at line {})",
            d.line, d.path, d.first_line
        ));
    }
    match doc.root {
        None => Ok(T::default()),
        Some(root) if root.is_null() => Ok(T::default()),
        Some(root) => from_node(&root, "").map_err(|e| {
            if e.path.is_empty() {
                format!("line {}: {}", e.line, e.message)
            } else {
                format!("line {}: {}: {}", e.line, e.path, e.message)
            }
        }),
    }
}

struct NodeDe<'a> {
    node: &'a Node,
    path: &'a str,
}

struct EntriesDe<'a> {
    entries: &'a [(Node, Node)],
    path: &'a str,
}

struct MapAcc<'a> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    path: &'a str,
    value: Option<(&'a Node, String)>,
}

struct SeqAcc<'a> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Node>>,
    path: &'a str,
}

impl<'de> de::MapAccess<'de> for MapAcc<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((k, v)) = self.entries.next() else {
            return Ok(None);
        };
        let path = join_key(self.path, &k.key_text());
        let key = seed
            .deserialize(NodeDe {
                node: k,
                path: &path,
            })
            .map_err(|e| e.at(k, &path))?;
        self.value = Some((v, path));
        Ok(Some(key))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (node, path) = self
            .value
            .take()
            .ok_or_else(|| <DeError as de::Error>::custom("value without a key"))?;
        seed.deserialize(NodeDe { node, path: &path })
            .map_err(|e| e.at(node, &path))
    }
}

impl<'de> de::SeqAccess<'de> for SeqAcc<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some((i, node)) = self.items.next() else {
            return Ok(None);
        };
        let path = join_index(self.path, i);
        seed.deserialize(NodeDe { node, path: &path })
            .map(Some)
            .map_err(|e| e.at(node, &path))
    }
}

impl<'de> de::Deserializer<'de> for EntriesDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_map(MapAcc {
            entries: self.entries.iter(),
            path: self.path,
            value: None,
        })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

impl NodeDe<'_> {
    fn invalid(&self, expected: &str) -> DeError {
        <DeError as de::Error>::custom(format!(
            "expected {expected}, found {}",
            self.node.describe()
        ))
        .at(self.node, self.path)
    }
}

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Scalar { text, plain: false } => visitor.visit_str(text),
            Kind::Scalar { text, plain: true } => match resolve(text) {
                Resolved::Null => visitor.visit_unit(),
                Resolved::Bool(b) => visitor.visit_bool(b),
                Resolved::Int(i) => visitor.visit_i64(i),
                Resolved::Uint(u) => visitor.visit_u64(u),
                Resolved::Float(f) => visitor.visit_f64(f),
                Resolved::Str(s) => visitor.visit_str(s),
            },
            Kind::Seq(items) => visitor.visit_seq(SeqAcc {
                items: items.iter().enumerate(),
                path: self.path,
            }),
            Kind::Map(entries) => visitor.visit_map(MapAcc {
                entries: entries.iter(),
                path: self.path,
                value: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.node.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    /// Any scalar as the text it was written as: `version: 3`, `oid: 1.30`, `rack: 12`.
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Scalar { text, .. } if !self.node.is_null() => visitor.visit_str(text),
            _ => Err(self.invalid("a string")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Seq(_) => self.deserialize_any(visitor),
            _ => Err(self.invalid("a list")),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Map(_) => self.deserialize_any(visitor),
            _ => Err(self.invalid("a mapping")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Scalar { text, .. } => visitor.visit_enum(text.as_str().into_deserializer()),
            _ => Err(self.invalid("a name")),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit
        unit_struct tuple tuple_struct
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Item {
        name: Option<String>,
        count: Option<i64>,
        ratio: Option<f64>,
        on: Option<bool>,
        tags: Option<Vec<String>>,
        enums: Option<BTreeMap<i64, String>>,
    }

    fn root(text: &str) -> Node {
        parse(text).unwrap().root.unwrap()
    }

    #[test]
    fn lines_of_keys_and_items() {
        let text = "defaults:\n  interval: 5s\ndevices:\n  - name: a\n    address: b\n  -\n    name: c\n    labels: {x: 1,\n      y: 2}\n    oids:\n      - {name: n, oid: 1.3}\n";
        let r = root(text);
        assert_eq!(r.line_at("defaults"), 1);
        assert_eq!(r.line_at("defaults.interval"), 2);
        assert_eq!(r.line_at("devices[0]"), 4);
        assert_eq!(r.line_at("devices[0].address"), 5);
        assert_eq!(r.line_at("devices[1]"), 7);
        assert_eq!(r.line_at("devices[1].labels.y"), 9);
        assert_eq!(r.line_at("devices[1].oids[0].oid"), 11);
        // Unknown paths fall back to the nearest ancestor.
        assert_eq!(r.line_at("devices[1].labels.zzz"), 8);
        assert_eq!(r.line_at("devices[9]"), 3);
    }

    #[test]
    fn keys_with_dots_are_found() {
        let r = root("modules:\n  cisco.cpu:\n    - {name: a}\n  cisco:\n    - {name: b}\n");
        assert_eq!(r.line_at("modules.cisco.cpu[0].name"), 3);
        assert_eq!(r.line_at("modules.cisco[0]"), 5);
    }

    #[test]
    fn duplicate_keys_found_and_dropped() {
        let d = parse("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n").unwrap();
        assert_eq!(
            d.duplicates,
            vec![
                Duplicate {
                    path: "b.c".into(),
                    line: 4,
                    first_line: 3
                },
                Duplicate {
                    path: "a".into(),
                    line: 5,
                    first_line: 1
                },
            ]
        );
        assert_eq!(d.root.unwrap().entries().len(), 2);
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let e = parse("a: [1\nb: 2\n").expect_err("unclosed flow sequence");
        assert!(e.line.is_some());
        assert!(
            e.message.contains("the `[` on line 1 has no closing `]`"),
            "{}",
            e.message
        );
        let e = parse("a: {x: 1, p: ${PASS}, y: 2}\n").expect_err("flow mapping");
        assert!(e.message.contains("must be quoted"), "{}", e.message);
        let e = parse("a: 1\n---\nb: 2\n").expect_err("two documents");
        assert_eq!(e.line, Some(2));
        assert!(parse("a: *nope\n").is_err());
    }

    #[test]
    fn scalars_resolve_like_yaml_1_2_and_strings_keep_their_text() {
        let r = root(
            "name: 1.30\ncount: 0x10\nratio: 2.5e1\non: true\ntags: [a, '1', 2c, ~x]\nenums: {1: up, 2: down}\n",
        );
        let item: Item = from_node(&r, "").unwrap();
        assert_eq!(
            item,
            Item {
                name: Some("1.30".into()),
                count: Some(16),
                ratio: Some(25.0),
                on: Some(true),
                tags: Some(vec!["a".into(), "1".into(), "2c".into(), "~x".into()]),
                enums: Some([(1, "up".to_string()), (2, "down".to_string())].into()),
            }
        );
        let nulls: Item = from_node(&root("name: ~\ncount: null\ntags:\n"), "").unwrap();
        assert_eq!(nulls, Item::default());
    }

    #[test]
    fn errors_name_the_innermost_path_and_line() {
        let r = root("list:\n  - name: a\n  - name: b\n    bogus: 1\n");
        let list = r.get("list").unwrap();
        let e = from_node::<Vec<Item>>(list, "list").unwrap_err();
        assert_eq!((e.path.as_str(), e.line), ("list[1].bogus", 4));
        assert!(e.message.contains("unknown field `bogus`"), "{}", e.message);
        let e = from_node::<Item>(&root("count: many\n"), "").unwrap_err();
        assert_eq!((e.path.as_str(), e.line), ("count", 1));
        let e = from_node::<Item>(&root("tags: {a: 1}\n"), "").unwrap_err();
        assert_eq!(e.message, "expected a list, found a mapping");
        let e = from_node::<Item>(&root("name: [x]\n"), "").unwrap_err();
        assert_eq!(e.message, "expected a string, found a list");
    }

    #[test]
    fn anchors_and_aliases_resolve() {
        let r = root("base: &b {name: x, count: 2}\ncopy: *b\n");
        let copy: Item = from_node(r.get("copy").unwrap(), "copy").unwrap();
        assert_eq!(copy.count, Some(2));
    }

    #[test]
    fn from_str_reads_small_files() {
        let i: Item = from_str("name: a\n").unwrap();
        assert_eq!(i.name.as_deref(), Some("a"));
        assert_eq!(from_str::<Item>("").unwrap(), Item::default());
        let e = from_str::<Item>("name: a\nzz: 1\n").unwrap_err();
        assert!(e.starts_with("line 2: zz: unknown field"), "{e}");
    }
}
