//! A light JSON-shaped document: what the text reader builds for `json.rs` to read.
//!
//! `serde_json::Value` allocates every object key and, with `preserve_order`, a hash index per
//! object; a text plan of 100 MB holds millions of them. Here keys and values PostgreSQL's
//! vocabulary fixes are `&'static str` (no allocation), an object is a vector of pairs, and the
//! document is a `serde::Deserializer`, so `json.rs`'s seeds read it directly — still the one
//! place that maps keys to model fields.

use std::borrow::Cow;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Error;

/// A key or a string value: borrowed when it is one of PostgreSQL's fixed words.
pub type Text = Cow<'static, str>;

/// A JSON-shaped value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Doc {
    #[default]
    Null,
    Bool(bool),
    /// Always finite (a NaN or an infinity is `Null`, as `serde_json::Number` has it).
    Num(f64),
    Str(Text),
    Arr(Vec<Doc>),
    Obj(Obj),
}

/// A JSON-shaped object: pairs in insertion order, keys unique (inserting a present key replaces
/// its value in place, as `serde_json::Map` does).
#[derive(Debug, Clone, Default)]
pub struct Obj {
    pairs: Vec<(Text, Doc)>,
    /// One bit per key present, chosen by `key_bit`: a key whose bit is clear is new, so
    /// `insert` appends it without comparing it with every key (a node has ~20).
    seen: u64,
}

/// The bit of `seen` a key sets: from its length and its first and last bytes, which tell
/// PostgreSQL's property names apart well enough for a 64-bit filter.
#[inline]
fn key_bit(key: &str) -> u64 {
    let b = key.as_bytes();
    let (first, last) = (
        u32::from(b.first().copied().unwrap_or(0)),
        u32::from(b.last().copied().unwrap_or(0)),
    );
    let h = (key.len() as u32)
        .wrapping_mul(0x9E37_79B9)
        .wrapping_add(first.wrapping_mul(0x85EB_CA6B))
        .wrapping_add(last.wrapping_mul(0xC2B2_AE35));
    1u64 << (h >> 26)
}

impl PartialEq for Obj {
    fn eq(&self, other: &Obj) -> bool {
        self.pairs == other.pairs
    }
}

impl Obj {
    pub fn new() -> Self {
        Obj::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        Obj {
            pairs: Vec::with_capacity(n),
            seen: 0,
        }
    }

    pub fn insert(&mut self, key: Text, value: Doc) {
        let bit = key_bit(&key);
        if self.seen & bit == 0 {
            self.seen |= bit;
            self.pairs.push((key, value));
            return;
        }
        let (len, ptr, first) = (key.len(), key.as_ptr(), key.as_bytes().first().copied());
        let same = |k: &Text| {
            k.len() == len
                && (k.as_ptr() == ptr
                    || (k.as_bytes().first().copied() == first && k.as_bytes() == key.as_bytes()))
        };
        match self.pairs.iter_mut().find(|(k, _)| same(k)) {
            Some(slot) => slot.1 = value,
            None => self.pairs.push((key, value)),
        }
    }

    /// Room for `n` more keys, exactly.
    pub fn reserve_exact(&mut self, n: usize) {
        self.pairs.reserve_exact(n);
    }

    pub fn get(&self, key: &str) -> Option<&Doc> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Doc> {
        self.pairs
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Doc)> {
        self.pairs.iter().map(|(k, v)| (&**k, v))
    }
}

impl IntoIterator for Obj {
    type Item = (Text, Doc);
    type IntoIter = std::vec::IntoIter<(Text, Doc)>;
    fn into_iter(self) -> Self::IntoIter {
        self.pairs.into_iter()
    }
}

impl Doc {
    /// A number; NaN and infinities become `Null` (JSON cannot hold them).
    pub fn num(v: f64) -> Doc {
        if v.is_finite() {
            Doc::Num(v)
        } else {
            Doc::Null
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Doc::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Doc::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// The same document as a `serde_json::Value` (for tests and debugging).
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

// ----------------------------------------------------------------------------------------------
// Serialize (for tests and debugging: prints the document as JSON)

impl Serialize for Doc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Doc::Null => s.serialize_unit(),
            Doc::Bool(b) => s.serialize_bool(*b),
            Doc::Num(n) => s.serialize_f64(*n),
            Doc::Str(t) => s.serialize_str(t),
            Doc::Arr(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for x in a {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            Doc::Obj(o) => o.serialize(s),
        }
    }
}

impl Serialize for Obj {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.pairs.len()))?;
        for (k, v) in &self.pairs {
            map.serialize_entry(&**k, v)?;
        }
        map.end()
    }
}

// ----------------------------------------------------------------------------------------------
// Deserializer (read by `json.rs`'s seeds, as they read a `serde_json::Value`)

impl Doc {
    fn unexpected(&self) -> de::Unexpected<'_> {
        match self {
            Doc::Null => de::Unexpected::Unit,
            Doc::Bool(b) => de::Unexpected::Bool(*b),
            Doc::Num(n) => de::Unexpected::Float(*n),
            Doc::Str(s) => de::Unexpected::Str(s),
            Doc::Arr(_) => de::Unexpected::Seq,
            Doc::Obj(_) => de::Unexpected::Map,
        }
    }
}

fn visit_text<'de, V: Visitor<'de>>(t: Text, v: V) -> Result<V::Value, Error> {
    match t {
        Cow::Borrowed(s) => v.visit_borrowed_str(s),
        Cow::Owned(s) => v.visit_string(s),
    }
}

fn visit_arr<'de, V: Visitor<'de>>(a: Vec<Doc>, v: V) -> Result<V::Value, Error> {
    let len = a.len();
    let mut seq = SeqDe(a.into_iter());
    let out = v.visit_seq(&mut seq)?;
    if seq.0.len() == 0 {
        Ok(out)
    } else {
        Err(de::Error::invalid_length(len, &"fewer elements in array"))
    }
}

fn visit_obj<'de, V: Visitor<'de>>(o: Obj, v: V) -> Result<V::Value, Error> {
    let len = o.pairs.len();
    let mut map = MapDe {
        iter: o.pairs.into_iter(),
        value: None,
    };
    let out = v.visit_map(&mut map)?;
    if map.iter.len() == 0 {
        Ok(out)
    } else {
        Err(de::Error::invalid_length(len, &"fewer elements in map"))
    }
}

impl<'de> Deserializer<'de> for Doc {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self {
            Doc::Null => v.visit_unit(),
            Doc::Bool(b) => v.visit_bool(b),
            Doc::Num(n) => v.visit_f64(n),
            Doc::Str(t) => visit_text(t, v),
            Doc::Arr(a) => visit_arr(a, v),
            Doc::Obj(o) => visit_obj(o, v),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self {
            Doc::Null => v.visit_none(),
            other => v.visit_some(other),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self {
            Doc::Obj(o) => visit_obj(o, v),
            other => Err(de::Error::invalid_type(other.unexpected(), &v)),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self {
            Doc::Arr(a) => visit_arr(a, v),
            other => Err(de::Error::invalid_type(other.unexpected(), &v)),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self {
            Doc::Str(t) => visit_text(t, v),
            other => Err(de::Error::invalid_type(other.unexpected(), &v)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_str(v)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        drop(self);
        v.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit
        unit_struct tuple tuple_struct struct enum identifier
    }
}

impl<'de> IntoDeserializer<'de, Error> for Doc {
    type Deserializer = Doc;
    fn into_deserializer(self) -> Doc {
        self
    }
}

struct SeqDe(std::vec::IntoIter<Doc>);

impl<'de> SeqAccess<'de> for SeqDe {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.0.next() {
            Some(d) => seed.deserialize(d).map(Some),
            None => Ok(None),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct MapDe {
    iter: std::vec::IntoIter<(Text, Doc)>,
    value: Option<Doc>,
}

impl<'de> MapAccess<'de> for MapDe {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(Doc::Str(k)).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(v),
            None => Err(de::Error::custom("value is missing")),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

impl fmt::Display for Doc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::to_string(self) {
            Ok(s) => f.write_str(&s),
            Err(_) => Err(fmt::Error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inserting keeps insertion order and replaces a present key in place, whether or not its
    /// filter bit is shared with other keys.
    #[test]
    fn insert_replaces_in_place_and_keeps_order() {
        // Many keys (so bits collide), inserted again in later rounds; then one key spelled
        // borrowed and owned.
        let keys: Vec<String> = (0..200).map(|i| format!("Key {i}")).collect();
        let mut obj = Obj::new();
        let mut model: Vec<(String, f64)> = Vec::new();
        for round in 0..3 {
            for (i, k) in keys.iter().enumerate() {
                if (i + round) % 3 == 0 {
                    continue;
                }
                let v = (round * 1000 + i) as f64;
                obj.insert(Cow::Owned(k.clone()), Doc::Num(v));
                match model.iter_mut().find(|(mk, _)| mk == k) {
                    Some(slot) => slot.1 = v,
                    None => model.push((k.clone(), v)),
                }
            }
        }
        obj.insert(Cow::Borrowed("Node Type"), Doc::Null);
        obj.insert(Cow::Owned("Node Type".to_string()), Doc::Bool(true));
        model.push(("Node Type".to_string(), f64::NAN));
        assert_eq!(obj.len(), model.len());
        for ((k, v), (mk, mv)) in obj.iter().zip(&model) {
            assert_eq!(k, mk);
            if mv.is_nan() {
                assert_eq!(v, &Doc::Bool(true));
            } else {
                assert_eq!(v.as_f64(), Some(*mv));
            }
        }
        assert_eq!(obj.get("Key 5").and_then(Doc::as_f64), Some(2005.0));
    }
}
