//! A look at every string a value would serialize with, without building it: whether any of
//! them might need masking. The redactor asks before it takes a part of a result through its
//! JSON form, so the common clean result costs a walk instead of a `serde_json::Value`'s
//! allocations.
//!
//! The answer errs on the side of "might": every string the JSON form would hold is offered
//! to the check (strings, characters, map keys, struct field names, enum variant names, and
//! keys that are numbers or booleans in the text `serde_json` would give them), so when the
//! check refuses none of them, masking the JSON form would change nothing.

use std::fmt::{self, Display};

use serde::ser::{self, Serialize};

/// Stops the walk: a string might need masking (or the value cannot be walked).
#[derive(Debug)]
pub(super) struct Dirty;

impl Display for Dirty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("might need masking")
    }
}

impl std::error::Error for Dirty {}

impl ser::Error for Dirty {
    fn custom<T: Display>(_: T) -> Self {
        Dirty
    }
}

/// Whether `value` serializes only strings `clean` accepts (keys go through `clean_key`).
pub(super) fn is_clean<T, C, K>(value: &T, clean: &C, clean_key: &K) -> bool
where
    T: Serialize + ?Sized,
    C: Fn(&str) -> bool,
    K: Fn(&str) -> bool,
{
    value.serialize(Scan { clean, clean_key }).is_ok()
}

struct Scan<'a, C, K> {
    clean: &'a C,
    clean_key: &'a K,
}

impl<C, K> Clone for Scan<'_, C, K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C, K> Copy for Scan<'_, C, K> {}

impl<C: Fn(&str) -> bool, K: Fn(&str) -> bool> Scan<'_, C, K> {
    fn text(self, s: &str) -> Result<(), Dirty> {
        if (self.clean)(s) { Ok(()) } else { Err(Dirty) }
    }

    fn key(self, s: &str) -> Result<(), Dirty> {
        if (self.clean_key)(s) {
            Ok(())
        } else {
            Err(Dirty)
        }
    }

    fn nested<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Dirty> {
        value.serialize(self)
    }
}

impl<C: Fn(&str) -> bool, K: Fn(&str) -> bool> ser::Serializer for Scan<'_, C, K> {
    type Ok = ();
    type Error = Dirty;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn serialize_bool(self, _: bool) -> Result<(), Dirty> {
        Ok(())
    }
    fn serialize_i8(self, _: i8) -> Result<(), Dirty> {
        Ok(())
    }
    fn serialize_i16(self, _: i16) -> Result<(), Dirty> {
        Ok(())
    }
    fn serialize_i32(self, _: i32) -> Result<(), Dirty> {
        Ok(())
    }
    fn serialize_i64(self, _: i64) -> Result<(), Dirty> {
        Ok(())
    }
    fn serialize_i128(self, _: i128) -> Result<(), Dirty> {
        Ok(())
    }
    fn serialize_u8(self, _: u8) -> Result<(), Dirty> {
        Ok(())
    }
    fn serialize_u16(self, _: u16) -> Result<(), Dirty> {
        Ok(())
    }
    fn serialize_u32(self, _: u32) -> Result<(), Dirty> {
        Ok(())
    }
    fn serialize_u64(self, _: u64) -> Result<(), Dirty> {
        Ok(())
    }
    fn serialize_u128(self, _: u128) -> Result<(), Dirty> {
        Ok(())
    }
    fn serialize_f32(self, _: f32) -> Result<(), Dirty> {
        Ok(())
    }
    fn serialize_f64(self, _: f64) -> Result<(), Dirty> {
        Ok(())
    }
    fn serialize_char(self, c: char) -> Result<(), Dirty> {
        self.text(c.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, s: &str) -> Result<(), Dirty> {
        self.text(s)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Dirty> {
        // An array of numbers in JSON.
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Dirty> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Dirty> {
        self.nested(value)
    }
    fn serialize_unit(self) -> Result<(), Dirty> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Dirty> {
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Dirty> {
        self.text(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Dirty> {
        self.nested(value)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Dirty> {
        self.key(variant)?;
        self.nested(value)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Dirty> {
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, Dirty> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, Dirty> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self, Dirty> {
        self.key(variant)?;
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, Dirty> {
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Dirty> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self, Dirty> {
        self.key(variant)?;
        Ok(self)
    }
}

macro_rules! elements {
    ($($trait:ident :: $method:ident),*) => {$(
        impl<C: Fn(&str) -> bool, K: Fn(&str) -> bool> ser::$trait for Scan<'_, C, K> {
            type Ok = ();
            type Error = Dirty;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Dirty> {
                self.nested(value)
            }
            fn end(self) -> Result<(), Dirty> {
                Ok(())
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl<C: Fn(&str) -> bool, K: Fn(&str) -> bool> ser::SerializeMap for Scan<'_, C, K> {
    type Ok = ();
    type Error = Dirty;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Dirty> {
        key.serialize(KeyScan(*self))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Dirty> {
        self.nested(value)
    }
    fn end(self) -> Result<(), Dirty> {
        Ok(())
    }
}

macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl<C: Fn(&str) -> bool, K: Fn(&str) -> bool> ser::$trait for Scan<'_, C, K> {
            type Ok = ();
            type Error = Dirty;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Dirty> {
                self.key(key)?;
                self.nested(value)
            }
            fn end(self) -> Result<(), Dirty> {
                Ok(())
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

/// A map key: checked as the text `serde_json` makes of it; anything that is not a string,
/// a number, a boolean or a character (which `serde_json` would refuse as a key) stops the
/// walk, so the JSON form decides.
struct KeyScan<'a, C, K>(Scan<'a, C, K>);

macro_rules! number_keys {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method(self, v: $ty) -> Result<(), Dirty> {
            self.0.key(&v.to_string())
        }
    )*};
}

impl<C: Fn(&str) -> bool, K: Fn(&str) -> bool> ser::Serializer for KeyScan<'_, C, K> {
    type Ok = ();
    type Error = Dirty;
    type SerializeSeq = ser::Impossible<(), Dirty>;
    type SerializeTuple = ser::Impossible<(), Dirty>;
    type SerializeTupleStruct = ser::Impossible<(), Dirty>;
    type SerializeTupleVariant = ser::Impossible<(), Dirty>;
    type SerializeMap = ser::Impossible<(), Dirty>;
    type SerializeStruct = ser::Impossible<(), Dirty>;
    type SerializeStructVariant = ser::Impossible<(), Dirty>;

    number_keys!(
        serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_i128: i128, serialize_u8: u8, serialize_u16: u16,
        serialize_u32: u32, serialize_u64: u64, serialize_u128: u128, serialize_f32: f32,
        serialize_f64: f64
    );

    fn serialize_char(self, c: char) -> Result<(), Dirty> {
        self.0.key(c.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, s: &str) -> Result<(), Dirty> {
        self.0.key(s)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Dirty> {
        self.0.key(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Dirty> {
        value.serialize(self)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Dirty> {
        Err(Dirty)
    }
    fn serialize_none(self) -> Result<(), Dirty> {
        Err(Dirty)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Dirty> {
        Err(Dirty)
    }
    fn serialize_unit(self) -> Result<(), Dirty> {
        Err(Dirty)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Dirty> {
        Err(Dirty)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Dirty> {
        Err(Dirty)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Dirty> {
        Err(Dirty)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Dirty> {
        Err(Dirty)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Dirty> {
        Err(Dirty)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Dirty> {
        Err(Dirty)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Dirty> {
        Err(Dirty)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Dirty> {
        Err(Dirty)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Dirty> {
        Err(Dirty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Collects every string offered, to compare with the strings of the JSON form.
    fn offered<T: Serialize>(value: &T) -> Vec<String> {
        let seen = std::cell::RefCell::new(Vec::new());
        let note = |s: &str| {
            seen.borrow_mut().push(s.to_owned());
            true
        };
        assert!(is_clean(value, &note, &note));
        let mut seen = seen.into_inner();
        seen.sort();
        seen
    }

    /// Every string of a JSON value: keys and string values.
    fn strings_of(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(items) => items.iter().for_each(|v| strings_of(v, out)),
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    out.push(k.clone());
                    strings_of(v, out);
                }
            }
            _ => {}
        }
    }

    #[derive(serde::Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Tagged {
        Text { text: String },
        Pair(Inner),
    }

    #[derive(serde::Serialize)]
    struct Inner {
        name: &'static str,
        #[serde(rename = "_meta")]
        meta: std::collections::BTreeMap<u32, char>,
        flag: Option<Unit>,
        list: Vec<(String, External)>,
    }

    #[derive(serde::Serialize)]
    enum Unit {
        On,
    }

    #[derive(serde::Serialize)]
    enum External {
        New(String),
        Tuple(u8, String),
        Struct { field: String },
    }

    #[test]
    fn every_string_of_the_json_form_is_offered() {
        let inner = Inner {
            name: "n",
            meta: [(7, 'c')].into_iter().collect(),
            flag: Some(Unit::On),
            list: vec![
                ("a".into(), External::New("b".into())),
                ("c".into(), External::Tuple(1, "d".into())),
                ("e".into(), External::Struct { field: "f".into() }),
            ],
        };
        let values = [
            serde_json::to_value(Tagged::Text { text: "t".into() }).unwrap(),
            serde_json::to_value(Tagged::Pair(inner)).unwrap(),
            json!({"k": ["v", 1, null, {"deep": "x"}], "n": 2.5}),
        ];
        for value in values {
            let mut expected = Vec::new();
            strings_of(&value, &mut expected);
            expected.sort();
            // The value as it serializes itself offers the same strings as its JSON form.
            assert_eq!(offered(&value), expected, "{value}");
        }
        let (text, pair) = (
            Tagged::Text { text: "t".into() },
            Tagged::Pair(Inner {
                name: "n",
                meta: [(7, 'c')].into_iter().collect(),
                flag: Some(Unit::On),
                list: vec![("e".into(), External::Struct { field: "f".into() })],
            }),
        );
        for typed in [text, pair] {
            let mut expected = Vec::new();
            strings_of(&serde_json::to_value(&typed).unwrap(), &mut expected);
            expected.sort();
            assert_eq!(offered(&typed), expected);
        }
    }

    #[test]
    fn one_refused_string_or_key_makes_it_dirty() {
        let value = json!({"outer": {"inner": ["fine", "secret here"]}});
        let no_secret = |s: &str| !s.contains("secret");
        let any = |_: &str| true;
        assert!(!is_clean(&value, &no_secret, &any));
        assert!(is_clean(&value, &any, &any));
        let no_inner = |s: &str| s != "inner";
        assert!(!is_clean(&value, &any, &no_inner));
    }
}
