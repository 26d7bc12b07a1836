//! A serde deserializer over the spanned YAML tree that keeps going after errors.
//!
//! Every error it raises carries the byte span of the node it concerns. Unknown keys are found
//! here (serde hands `deserialize_struct` the field list) and reported with a did-you-mean, then
//! skipped, so one typo does not hide the next. [`Lenient`] marks the boundaries where a failed
//! subtree is recorded and decoding goes on, which is how `drctl validate` reports every error
//! at once. [`Spanned`] keeps a value's place for the validation that comes after decoding.

use std::borrow::Borrow;
use std::cell::RefCell;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::yaml::{integer_text, scalar_kind, ByteSpan, Node, NodeKind, ScalarKind};

const SPANNED: &str = "$drctl::Spanned";
const LENIENT: &str = "$drctl::Lenient";
const RAW_NODE: &str = "$drctl::RawNode";
const ABSORBED: &str = "$drctl::absorbed";

/// A decoding problem at a place in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct DeError {
    pub message: String,
    pub span: Option<ByteSpan>,
    pub help: Option<String>,
    missing_field: bool,
}

impl DeError {
    pub fn new(message: impl Into<String>, span: ByteSpan) -> Self {
        Self { message: message.into(), span: Some(span), help: None, missing_field: false }
    }

    fn at(mut self, span: &ByteSpan) -> Self {
        if self.span.is_none() {
            self.span = Some(span.clone());
        }
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self { message: msg.to_string(), span: None, help: None, missing_field: false }
    }

    fn invalid_type(unexp: de::Unexpected, exp: &dyn de::Expected) -> Self {
        let found = match unexp {
            de::Unexpected::Str(s) => format!("the string `{s}`"),
            de::Unexpected::Map => "a map".to_owned(),
            de::Unexpected::Seq => "a list".to_owned(),
            de::Unexpected::Unit => "nothing (null)".to_owned(),
            other => other.to_string(),
        };
        // Rust's names for numbers mean nothing to a runbook's author. Every unsigned field of
        // a runbook (version, attempts, parallelism, concurrency limits) starts at 1.
        let expected = match exp.to_string().as_str() {
            "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 1 or more".to_owned(),
            "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".to_owned(),
            "f32" | "f64" => "a number".to_owned(),
            "a boolean" | "bool" => "true or false".to_owned(),
            other => other.to_owned(),
        };
        let mut err = Self::custom(format!("expected {expected}, found {found}"));
        err.help = Some(format!("write {expected} here"));
        err
    }

    /// The right type, out of range: `-1` or `5000000000` for a count.
    fn invalid_value(unexp: de::Unexpected, exp: &dyn de::Expected) -> Self {
        let most = match exp.to_string().as_str() {
            "u8" => Some(u64::from(u8::MAX)),
            "u16" => Some(u64::from(u16::MAX)),
            "u32" => Some(u64::from(u32::MAX)),
            _ => None,
        };
        let given = match unexp {
            de::Unexpected::Signed(i) => u64::try_from(i).ok(),
            de::Unexpected::Unsigned(u) => Some(u),
            _ => None,
        };
        match (most, given) {
            (Some(most), Some(given)) if given > most => {
                let mut err = Self::custom(format!("`{given}` is more than this setting takes: at most {most}"));
                err.help = Some(format!("write a whole number from 1 to {most} here"));
                err
            }
            _ => Self::invalid_type(unexp, exp),
        }
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let mut err = Self::custom(format!("unknown value `{variant}`, expected one of: {}", expected.join(", ")));
        err.help = did_you_mean(variant, expected.iter().copied())
            .or_else(|| Some(format!("write one of: {}", expected.join(", "))));
        err
    }

    fn missing_field(field: &'static str) -> Self {
        let mut err = Self::custom(format!("missing required key `{field}`"));
        err.missing_field = true;
        err.help = Some(format!("add `{field}:` here"));
        err
    }
}

/// "did you mean `x`?" for the closest candidate, if any is close enough.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (if short_slip(word, c) { SHORT_SLIP } else { strsim::jaro_winkler(word, c) }, c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

/// The closeness given to a [`short_slip`]: above the thresholds used with Jaro-Winkler,
/// below an exact match but for case.
pub const SHORT_SLIP: f64 = 0.95;

/// Whether `word` is one slip (a letter missing, added, changed or two swapped) from the
/// short name `name` (`mx` for `max`, `rn` for `run`), keeping its first letter. Jaro-Winkler
/// scores such pairs too low to be suggested, since one letter is much of a short word.
pub fn short_slip(word: &str, name: &str) -> bool {
    let (word, name) = (word.to_ascii_lowercase(), name.to_ascii_lowercase());
    name.len() <= 4
        && word.len() >= 2
        && word != name
        && word.chars().next() == name.chars().next()
        && strsim::osa_distance(&word, &name) == 1
}

/// Collects the errors recorded at [`Lenient`] boundaries and for unknown keys.
#[derive(Default)]
pub struct ErrorSink {
    errors: RefCell<Vec<DeError>>,
}

impl ErrorSink {
    pub fn push(&self, err: DeError) {
        self.errors.borrow_mut().push(err);
    }

    pub fn take(&self) -> Vec<DeError> {
        std::mem::take(&mut self.errors.borrow_mut())
    }
}

/// Decodes `T` from a node; the error of the whole decode (if it failed outside any
/// [`Lenient`]) is returned, and everything recorded on the way is in `sink`.
pub fn from_node<'a, T: Deserialize<'a>>(node: &'a Node, sink: &'a ErrorSink) -> Result<T, DeError> {
    T::deserialize(NodeDe { node, sink, key: false })
}

/// The deserializer for one node.
#[derive(Clone, Copy)]
pub struct NodeDe<'a> {
    node: &'a Node,
    sink: &'a ErrorSink,
    /// A map's key: a name, which may be written as any scalar (`1:`, `true:`).
    key: bool,
}

impl<'a> NodeDe<'a> {
    fn scalar(&self) -> Option<(&'a str, ScalarKind)> {
        match &self.node.kind {
            NodeKind::Scalar { text, quoted } => Some((text.as_str(), scalar_kind(text, *quoted))),
            _ => None,
        }
    }

    fn unexpected(&self) -> de::Unexpected<'a> {
        match &self.node.kind {
            NodeKind::Scalar { text, quoted } => match scalar_kind(text, *quoted) {
                ScalarKind::Null => de::Unexpected::Unit,
                ScalarKind::Bool(b) => de::Unexpected::Bool(b),
                ScalarKind::Int(i) => de::Unexpected::Signed(i),
                ScalarKind::UInt(u) => de::Unexpected::Unsigned(u),
                ScalarKind::Float(f) => de::Unexpected::Float(f),
                ScalarKind::Str => de::Unexpected::Str(text),
            },
            NodeKind::Seq(_) => de::Unexpected::Seq,
            NodeKind::Map(_) => de::Unexpected::Map,
        }
    }

    fn placed<T>(&self, result: Result<T, DeError>) -> Result<T, DeError> {
        result.map_err(|e| e.at(&self.node.span))
    }
}

macro_rules! forward_to_any {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
            self.deserialize_any(visitor)
        })*
    };
}

impl<'a> de::Deserializer<'a> for NodeDe<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match &self.node.kind {
            NodeKind::Scalar { text, quoted } => match scalar_kind(text, *quoted) {
                ScalarKind::Null => visitor.visit_unit(),
                ScalarKind::Bool(b) => visitor.visit_bool(b),
                ScalarKind::Int(i) => visitor.visit_i64(i),
                ScalarKind::UInt(u) => visitor.visit_u64(u),
                ScalarKind::Float(f) => visitor.visit_f64(f),
                ScalarKind::Str => visitor.visit_borrowed_str(text),
            },
            NodeKind::Seq(items) => visitor.visit_seq(Items { iter: items.iter(), sink: self.sink }),
            NodeKind::Map(entries) => visitor.visit_map(Entries::all(entries, self.sink)),
        };
        self.placed(result)
    }

    fn deserialize_str<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        // Digits past 64 bits are kept as text where a value is read as written, but YAML
        // (and the schema) read them as a number: not text for a key that takes text.
        let long_digits = matches!(&self.node.kind, NodeKind::Scalar { text, quoted: false } if integer_text(text));
        let result = match (&self.node.kind, self.scalar()) {
            (NodeKind::Scalar { text, .. }, Some((_, ScalarKind::Str))) if !long_digits || self.key => {
                visitor.visit_borrowed_str(text)
            }
            (NodeKind::Scalar { text, .. }, _) if self.key => visitor.visit_borrowed_str(text),
            // `name: 2024` is a number to YAML (and to the JSON Schema editors check with):
            // text must be written as text.
            (NodeKind::Scalar { text, .. }, Some((_, kind))) => {
                let what = match kind {
                    ScalarKind::Null => "null",
                    ScalarKind::Bool(_) => "a boolean",
                    _ => "a number",
                };
                let mut err = DeError::new(format!("expected a string, found {what} `{text}`"), self.node.span.clone());
                err.help = Some(match kind {
                    ScalarKind::Null => "give it a value, or leave the key out".to_owned(),
                    _ => format!("quote it to make it text: \"{text}\""),
                });
                Err(err)
            }
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.placed(result)
    }

    fn deserialize_string<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.scalar() {
            Some((_, ScalarKind::Null)) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_bool<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match self.scalar() {
            Some((_, ScalarKind::Bool(b))) => visitor.visit_bool(b),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.placed(result)
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let result = match &self.node.kind {
            NodeKind::Scalar { text, .. } => visitor.visit_enum(text.as_str().into_deserializer()),
            _ => Err(de::Error::invalid_type(self.unexpected(), &"one of the listed words")),
        };
        self.placed(result)
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match name {
            SPANNED => return visitor.visit_map(SpannedAccess { de: self, step: 0 }),
            LENIENT => return visitor.visit_map(LenientAccess { de: self, done: false }),
            RAW_NODE => return visitor.visit_map(RawNodeAccess { node: Some(self.node) }),
            _ => {}
        }
        let NodeKind::Map(entries) = &self.node.kind else {
            let expected = format!("a map with keys {}", fields.join(", "));
            return self.placed(Err(de::Error::invalid_type(self.unexpected(), &expected.as_str())));
        };
        for (key, _) in entries {
            let name = key.as_scalar().unwrap_or_default();
            if !fields.contains(&name) {
                let mut err = DeError::new(format!("unknown key `{name}`"), key.span.clone());
                err.help = if name == "<<" {
                    Some(
                        "YAML merge keys (`<<: *anchor`) are not supported: write the keys out, or put shared \
                         settings under `defaults:`"
                            .into(),
                    )
                } else {
                    did_you_mean(name, fields.iter().copied())
                        .or_else(|| Some(format!("known keys here: {}", fields.join(", "))))
                };
                self.sink.push(err);
            }
        }
        let result = visitor.visit_map(Entries::known(entries, fields, self.sink));
        result.map_err(|e| {
            if e.missing_field && e.span.is_none() {
                // Point at the first line of the map rather than the whole block.
                let start = self.node.span.start;
                let end = entries.first().map_or(self.node.span.end, |(k, _)| k.span.end);
                e.at(&(start..end))
            } else {
                e.at(&self.node.span)
            }
        })
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    forward_to_any! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_char deserialize_bytes deserialize_byte_buf
        deserialize_unit deserialize_seq deserialize_map deserialize_identifier
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_tuple<V: Visitor<'a>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }
}

struct Items<'a> {
    iter: std::slice::Iter<'a, Node>,
    sink: &'a ErrorSink,
}

impl<'a> SeqAccess<'a> for Items<'a> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'a>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        match self.iter.next() {
            None => Ok(None),
            Some(node) => seed.deserialize(NodeDe { node, sink: self.sink, key: false }).map(Some),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct Entries<'a> {
    iter: std::slice::Iter<'a, (Node, Node)>,
    /// When decoding a struct, only these keys are handed to the visitor.
    fields: Option<&'static [&'static str]>,
    value: Option<&'a Node>,
    sink: &'a ErrorSink,
}

impl<'a> Entries<'a> {
    fn all(entries: &'a [(Node, Node)], sink: &'a ErrorSink) -> Self {
        Self { iter: entries.iter(), fields: None, value: None, sink }
    }

    fn known(entries: &'a [(Node, Node)], fields: &'static [&'static str], sink: &'a ErrorSink) -> Self {
        Self { iter: entries.iter(), fields: Some(fields), value: None, sink }
    }
}

impl<'a> MapAccess<'a> for Entries<'a> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'a>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        for (key, value) in self.iter.by_ref() {
            if let Some(fields) = self.fields {
                if !fields.contains(&key.as_scalar().unwrap_or_default()) {
                    continue;
                }
            }
            self.value = Some(value);
            return seed.deserialize(NodeDe { node: key, sink: self.sink, key: true }).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.value.take() {
            Some(node) => seed.deserialize(NodeDe { node, sink: self.sink, key: false }),
            None => Err(de::Error::custom("value requested before key")),
        }
    }

    /// Exact for a plain map, so maps of thousands of tasks are allocated once.
    fn size_hint(&self) -> Option<usize> {
        self.fields.is_none().then(|| self.iter.len())
    }
}

/// Feeds a [`Spanned`] visitor the keys `start`, `end`, `value`.
struct SpannedAccess<'a> {
    de: NodeDe<'a>,
    step: u8,
}

impl<'a> MapAccess<'a> for SpannedAccess<'a> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'a>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        let key = match self.step {
            0 => "start",
            1 => "end",
            2 => "value",
            _ => return Ok(None),
        };
        seed.deserialize(BorrowedStrDeserializer::new(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        self.step += 1;
        match self.step {
            1 => seed.deserialize((self.de.node.span.start as u64).into_deserializer()),
            2 => seed.deserialize((self.de.node.span.end as u64).into_deserializer()),
            _ => seed.deserialize(self.de),
        }
    }
}

/// Decodes the inner value; on failure records the error and tells the visitor to give up
/// quietly (the [`ABSORBED`] marker).
struct LenientAccess<'a> {
    de: NodeDe<'a>,
    done: bool,
}

impl<'a> MapAccess<'a> for LenientAccess<'a> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'a>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        if self.done {
            return Ok(None);
        }
        seed.deserialize(BorrowedStrDeserializer::new("value")).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        self.done = true;
        seed.deserialize(self.de).map_err(|err| {
            self.de.sink.push(err.at(&self.de.node.span));
            de::Error::custom(ABSORBED)
        })
    }
}

thread_local! {
    /// Passes a node from [`RawNodeAccess`] to the [`RawNode`] visitor, which serde gives no
    /// other channel for; it is filled and emptied within one `next_value` call.
    static RAW_STASH: RefCell<Option<Node>> = const { RefCell::new(None) };
}

/// Hands a [`RawNode`] visitor a clone of the node.
struct RawNodeAccess<'a> {
    node: Option<&'a Node>,
}

impl<'a> MapAccess<'a> for RawNodeAccess<'a> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'a>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        if self.node.is_none() {
            return Ok(None);
        }
        seed.deserialize(BorrowedStrDeserializer::new("node")).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let node = self.node.take().ok_or_else(|| de::Error::custom("node requested twice"))?;
        RAW_STASH.with(|stash| *stash.borrow_mut() = Some(node.clone()));
        seed.deserialize(().into_deserializer())
    }
}

/// A value together with the byte span it was read from. Equality, ordering and hashing look
/// at the value only, so spanned strings can key maps.
#[derive(Debug, Clone)]
pub struct Spanned<T> {
    pub value: T,
    pub span: ByteSpan,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: ByteSpan) -> Self {
        Self { value, span }
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq> Eq for Spanned<T> {}

impl<T: Hash> Hash for Spanned<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state)
    }
}

impl<T: PartialOrd> PartialOrd for Spanned<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.value.partial_cmp(&other.value)
    }
}

impl<T: Ord> Ord for Spanned<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.value.cmp(&other.value)
    }
}

impl Borrow<str> for Spanned<String> {
    fn borrow(&self) -> &str {
        &self.value
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpannedVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for SpannedVisitor<T> {
            type Value = Spanned<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value read from a runbook")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Spanned<T>, A::Error> {
                let mut start = 0u64;
                let mut end = 0u64;
                while let Some(key) = map.next_key::<&str>()? {
                    match key {
                        "start" => start = map.next_value()?,
                        "end" => end = map.next_value()?,
                        _ => {
                            let value = map.next_value()?;
                            return Ok(Spanned { value, span: start as usize..end as usize });
                        }
                    }
                }
                Err(de::Error::custom("spanned value without a value"))
            }
        }
        deserializer.deserialize_struct(SPANNED, &["start", "end", "value"], SpannedVisitor(std::marker::PhantomData))
    }
}

impl<T: serde::Serialize> serde::Serialize for Spanned<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

/// A value whose decoding errors are recorded instead of aborting the surrounding decode;
/// `None` when it failed.
#[derive(Debug, Clone)]
pub struct Lenient<T>(pub Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LenientVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for LenientVisitor<T> {
            type Value = Lenient<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value read from a runbook")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Lenient<T>, A::Error> {
                if map.next_key::<&str>()?.is_none() {
                    return Err(de::Error::custom("lenient value without a value"));
                }
                match map.next_value::<T>() {
                    Ok(value) => Ok(Lenient(Some(value))),
                    Err(err) if err.to_string() == ABSORBED => Ok(Lenient(None)),
                    Err(err) => Err(err),
                }
            }
        }
        deserializer.deserialize_struct(LENIENT, &["value"], LenientVisitor(std::marker::PhantomData))
    }
}

/// For `#[serde(default, deserialize_with = "crate::runbook::de::lenient_field")]`: a field
/// that cannot be decoded is reported and left at its default, so that the other fields of the
/// same map are still decoded and checked (all problems at once).
pub fn lenient_field<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: de::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Lenient::<T>::deserialize(deserializer).map(|field| field.0.unwrap_or_default())
}

/// Like [`lenient_field`], for a field whose value is read as written: a key given with no
/// value (`if:`, `if: ~`) is `Some` null node, not taken for a key left out.
pub fn present_field<'de, D>(deserializer: D) -> Result<Option<Box<RawNode>>, D::Error>
where
    D: de::Deserializer<'de>,
{
    Lenient::<Box<RawNode>>::deserialize(deserializer).map(|field| field.0)
}

/// Wrappers that only add decoding behaviour have the schema of what they wrap.
macro_rules! schema_of_inner {
    ($($wrapper:ident),*) => {$(
        impl<T: schemars::JsonSchema> schemars::JsonSchema for $wrapper<T> {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                T::schema_name()
            }
            fn schema_id() -> std::borrow::Cow<'static, str> {
                T::schema_id()
            }
            fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                T::json_schema(generator)
            }
            fn inline_schema() -> bool {
                T::inline_schema()
            }
        }
    )*};
}

schema_of_inner!(Spanned, Lenient);

/// A subtree kept as YAML nodes (for `with:` and defaults), decoded later with its spans.
#[derive(Debug, Clone, PartialEq)]
pub struct RawNode(pub Node);

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawVisitor;
        impl<'de> Visitor<'de> for RawVisitor {
            type Value = RawNode;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a YAML value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawNode, A::Error> {
                if map.next_key::<&str>()?.is_none() {
                    return Err(de::Error::custom("raw node without a node"));
                }
                map.next_value::<()>()?;
                RAW_STASH
                    .with(|stash| stash.borrow_mut().take())
                    .map(RawNode)
                    .ok_or_else(|| de::Error::custom("a raw YAML node can only be read from a runbook"))
            }
        }
        deserializer.deserialize_struct(RAW_NODE, &["node"], RawVisitor)
    }
}

impl schemars::JsonSchema for RawNode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AnyValue".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!(true)
    }
    fn inline_schema() -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::yaml;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Task {
        uses: String,
        #[serde(default)]
        depends_on: Vec<Spanned<String>>,
        #[serde(default)]
        retry: Option<Retry>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Retry {
        attempts: u32,
    }

    #[derive(Debug, Deserialize)]
    struct Doc {
        tasks: indexmap::IndexMap<Spanned<String>, Lenient<Task>>,
    }

    #[test]
    fn short_names_are_suggested_for_one_slip() {
        assert_eq!(did_you_mean("rn", ["run", "env"]), Some("did you mean `run`?".into()));
        assert_eq!(did_you_mean("ulr", ["url", "method"]), Some("did you mean `url`?".into()));
        assert!(short_slip("mx", "max") && short_slip("MAX", "mx") && !short_slip("max", "max"));
        // Not a slip: another first letter, two changes, or a long name.
        assert!(!short_slip("ax", "max") && !short_slip("mxx", "min") && !short_slip("timout", "timeout"));
    }

    #[test]
    fn collects_errors_across_tasks() {
        let src = "tasks:\n  a:\n    usse: shell\n  b:\n    uses: shell\n    depends_on: [a]\n    retry: { attempts: many }\n  c:\n    uses: shell\n  d:\n    uses: shell\n    retry: { attempts: -1 }\n  e:\n    uses: shell\n    retry: { attempts: 5000000000 }\n";
        let node = yaml::parse(src).unwrap();
        let sink = ErrorSink::default();
        let doc: Doc = from_node(&node, &sink).unwrap();
        let errors = sink.take();
        let messages: Vec<_> = errors.iter().map(|e| (e.message.as_str(), &src[e.span.clone().unwrap()])).collect();
        assert_eq!(
            messages,
            vec![
                ("unknown key `usse`", "usse"),
                ("missing required key `uses`", "usse"),
                ("expected a whole number, 1 or more, found the string `many`", "many"),
                ("expected a whole number, 1 or more, found integer `-1`", "-1"),
                ("`5000000000` is more than this setting takes: at most 4294967295", "5000000000"),
            ]
        );
        assert_eq!(errors[0].help.as_deref(), Some("did you mean `uses`?"));
        assert!(doc.tasks["a"].0.is_none());
        assert!(doc.tasks["b"].0.is_none());
        let c = doc.tasks["c"].0.as_ref().unwrap();
        assert_eq!(c.uses, "shell");
    }

    #[test]
    fn spanned_values_keep_place() {
        let src = "tasks:\n  b:\n    uses: shell\n    depends_on: [zed]\n";
        let node = yaml::parse(src).unwrap();
        let sink = ErrorSink::default();
        let doc: Doc = from_node(&node, &sink).unwrap();
        let (key, task) = doc.tasks.get_index(0).unwrap();
        assert_eq!(&src[key.span.clone()], "b");
        let dep = &task.0.as_ref().unwrap().depends_on[0];
        assert_eq!(&src[dep.span.clone()], "zed");
    }

    #[test]
    fn raw_nodes_are_kept() {
        #[derive(Deserialize)]
        struct W {
            with: RawNode,
        }
        let src = "with: { run: echo, env: { A: b } }\n";
        let node = yaml::parse(src).unwrap();
        let sink = ErrorSink::default();
        let w: W = from_node(&node, &sink).unwrap();
        assert_eq!(w.with.0.to_json(), serde_json::json!({"run": "echo", "env": {"A": "b"}}));
    }
}
