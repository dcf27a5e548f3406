//! The encoder: a serde `Serializer` that appends a value's bytes to a
//! `Vec<u8>`.
//!
//! The format is serde's data model laid out plainly, the same bytes as
//! bincode 2's serde mode with fixed-width integers (a test checks it):
//!
//! - numbers: little-endian, at their full width; `bool`: one byte;
//! - lengths of sequences, maps, strings and bytes: `u64`;
//! - an enum: its variant's index as a `u32`, then its fields;
//! - an `Option`: a tag byte, then the value if `Some`;
//! - structs and tuples: their fields in order, nothing else;
//! - `char`: its UTF-8 bytes.
//!
//! Fixed widths cost bytes but no work: the `codec` benchmark found varints
//! (postcard's) at 2–8 ns per `u64` each way against under 1 ns here, and a
//! pool carries runs of numbers.

use std::fmt::Display;

use serde::ser::{self, Serialize};

use super::Problem;

/// Appends `value`'s encoding to `out`.
pub(crate) fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), Problem> {
    value.serialize(&mut Encoder { out })
}

struct Encoder<'a> {
    out: &'a mut Vec<u8>,
}

impl Encoder<'_> {
    #[inline(always)]
    fn put<const N: usize>(&mut self, bytes: [u8; N]) {
        self.out.extend_from_slice(&bytes);
    }

    /// A length, as a `u64`.
    #[inline]
    fn len(&mut self, len: Option<usize>) -> Result<(), Problem> {
        match len {
            Some(n) => {
                self.put((n as u64).to_le_bytes());
                Ok(())
            }
            None => Err(Problem("a sequence or map of unknown length".into())),
        }
    }

    /// An enum variant's index, as a `u32`.
    #[inline]
    fn variant(&mut self, index: u32) {
        self.put(index.to_le_bytes());
    }
}

/// One method per fixed-width number: its little-endian bytes.
macro_rules! fixed {
    ($($method:ident $ty:ty),* $(,)?) => {$(
        #[inline]
        fn $method(self, v: $ty) -> Result<(), Problem> {
            self.put(v.to_le_bytes());
            Ok(())
        }
    )*};
}

impl<'a> ser::Serializer for &mut Encoder<'a> {
    type Ok = ();
    type Error = Problem;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn is_human_readable(&self) -> bool {
        false
    }

    #[inline]
    fn serialize_bool(self, v: bool) -> Result<(), Problem> {
        self.out.push(u8::from(v));
        Ok(())
    }

    fixed!(
        serialize_i8 i8,
        serialize_i16 i16,
        serialize_i32 i32,
        serialize_i64 i64,
        serialize_i128 i128,
        serialize_u8 u8,
        serialize_u16 u16,
        serialize_u32 u32,
        serialize_u64 u64,
        serialize_u128 u128,
        serialize_f32 f32,
        serialize_f64 f64,
    );

    fn serialize_char(self, v: char) -> Result<(), Problem> {
        // Its UTF-8 bytes, without a length: the first byte tells it.
        self.out.extend_from_slice(v.encode_utf8(&mut [0u8; 4]).as_bytes());
        Ok(())
    }

    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), Problem> {
        self.serialize_bytes(v.as_bytes())
    }

    #[inline]
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Problem> {
        self.put((v.len() as u64).to_le_bytes());
        self.out.extend_from_slice(v);
        Ok(())
    }

    #[inline]
    fn serialize_none(self) -> Result<(), Problem> {
        self.out.push(0);
        Ok(())
    }

    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Problem> {
        self.out.push(1);
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Problem> {
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Problem> {
        Ok(())
    }

    #[inline]
    fn serialize_unit_variant(self, _name: &'static str, index: u32, _variant: &'static str) -> Result<(), Problem> {
        self.variant(index);
        Ok(())
    }

    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result<(), Problem> {
        value.serialize(self)
    }

    #[inline]
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Result<(), Problem> {
        self.variant(index);
        value.serialize(self)
    }

    #[inline]
    fn serialize_seq(self, len: Option<usize>) -> Result<Self, Problem> {
        self.len(len)?;
        Ok(self)
    }

    #[inline]
    fn serialize_tuple(self, _len: usize) -> Result<Self, Problem> {
        Ok(self)
    }

    #[inline]
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self, Problem> {
        Ok(self)
    }

    #[inline]
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self, Problem> {
        self.variant(index);
        Ok(self)
    }

    #[inline]
    fn serialize_map(self, len: Option<usize>) -> Result<Self, Problem> {
        self.len(len)?;
        Ok(self)
    }

    #[inline]
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self, Problem> {
        Ok(self)
    }

    #[inline]
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self, Problem> {
        self.serialize_tuple_variant(name, index, variant, len)
    }

    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Problem> {
        self.serialize_str(&value.to_string())
    }
}

/// Every compound is its parts one after another: one impl body for all.
macro_rules! compound {
    ($($trait:ident :: $method:ident),* $(,)?) => {$(
        impl ser::$trait for &mut Encoder<'_> {
            type Ok = ();
            type Error = Problem;

            #[inline]
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Problem> {
                value.serialize(&mut **self)
            }

            #[inline]
            fn end(self) -> Result<(), Problem> {
                Ok(())
            }
        }
    )*};
}

compound!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
);

impl ser::SerializeMap for &mut Encoder<'_> {
    type Ok = ();
    type Error = Problem;

    #[inline]
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Problem> {
        key.serialize(&mut **self)
    }

    #[inline]
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Problem> {
        value.serialize(&mut **self)
    }

    #[inline]
    fn end(self) -> Result<(), Problem> {
        Ok(())
    }
}

macro_rules! fields {
    ($($trait:ident),* $(,)?) => {$(
        impl ser::$trait for &mut Encoder<'_> {
            type Ok = ();
            type Error = Problem;

            #[inline]
            fn serialize_field<T: Serialize + ?Sized>(&mut self, _key: &'static str, value: &T) -> Result<(), Problem> {
                value.serialize(&mut **self)
            }

            #[inline]
            fn end(self) -> Result<(), Problem> {
                Ok(())
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Serialize};

    /// Our bytes are bincode 2's (fixed-width integers), and decode back.
    fn same<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
        let mut ours = Vec::new();
        super::encode_into(value, &mut ours).unwrap();
        let config = bincode::config::standard().with_fixed_int_encoding();
        assert_eq!(ours, bincode::serde::encode_to_vec(value, config).unwrap(), "{value:?}");
        assert_eq!(&crate::codec::decode::<T>(&ours).unwrap(), value);
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Unit;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Wrapper(u32);

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Pair(i16, String);

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Fields {
        a: u8,
        b: Option<f64>,
        c: Vec<char>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Shape {
        Unit,
        New(i64),
        Tuple(u16, bool),
        Struct { x: f32, y: i128 },
    }

    #[test]
    fn bytes_match_bincode_fixint_for_every_serde_shape() {
        for v in [0u64, 1, 127, 128, 300, 1 << 35, u64::MAX] {
            same(&v);
            same(&(v as u32, v as u16, v as i64, -(v as i64), v as i32, v as i16, v as i8));
        }
        same(&(u128::MAX, i128::MIN, 5u128, -5i128));
        same(&(true, false, 1.5f32, -2.25f64, 'é', "text".to_string(), ()));
        same(&('a', '\u{7ff}', '猫', '\u{10ffff}'));
        same(&(Some(7u8), None::<u8>, Unit, Wrapper(900), Pair(-3, "p".into())));
        same(&Fields {
            a: 1,
            b: Some(0.5),
            c: vec!['a', '猫'],
        });
        same(&vec![
            Shape::Unit,
            Shape::New(-1),
            Shape::Tuple(65535, true),
            Shape::Struct { x: 1.0, y: -1 << 100 },
        ]);
        same(&BTreeMap::from([(1u32, "one".to_string()), (2, "two".into())]));
        same(&serde_bytes::ByteBuf::from(vec![1u8, 2, 3]));
        same(&(0..1000u64).map(|i| i * i).collect::<Vec<_>>());
    }

    #[test]
    fn a_sequence_of_unknown_length_is_an_error() {
        struct Unsized;
        impl Serialize for Unsized {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq((0..3u8).filter(|_| true))
            }
        }
        assert!(super::encode_into(&Unsized, &mut Vec::new()).is_err());
    }
}
