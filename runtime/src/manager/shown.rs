//! How a namespace field shows in `Debug`: the server keeps only the
//! bytes of a value, not its type, so the proxy that sets a field writes
//! down its text at once. The text is the value as serde describes it,
//! laid out like `#[derive(Debug)]` would (`10`, `"two"`, `[1, 2]`,
//! `Some(3)`, `Point { x: 1.0, y: 2.0 }`); a type whose `Debug` is
//! written by hand, or that serializes as something else (an address as
//! a string, say), may show differently. At most [`MAX_SHOWN`] bytes,
//! then `…`.

use std::fmt::{self, Display, Write};

use serde::ser::{self, Serialize};

/// The longest text kept of one value, in bytes (before the `…`).
pub(crate) const MAX_SHOWN: usize = 1024;

/// `value` as text (see the module).
pub(crate) fn show<T: Serialize + ?Sized>(value: &T) -> String {
    let mut s = Shower(String::new());
    match value.serialize(&mut s) {
        Ok(()) => s.0,
        Err(Stop) => clipped(s.0),
    }
}

/// `text` cut to at most [`MAX_SHOWN`] bytes (at a character boundary),
/// then `…`: what was written of a value whose text stopped.
pub(crate) fn clipped(mut text: String) -> String {
    if text.len() > MAX_SHOWN {
        let mut end = MAX_SHOWN;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text.push('…');
    text
}

/// Shown text, written as it may be: the `Debug` of a text kept from a
/// `show`.
pub(crate) struct Shown<'a>(pub(crate) &'a str);

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Writing stopped: the text grew past [`MAX_SHOWN`], or the value's
/// `Serialize` failed.
#[derive(Debug)]
struct Stop;

impl Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stopped")
    }
}

impl std::error::Error for Stop {}

impl ser::Error for Stop {
    fn custom<T: Display>(_: T) -> Self {
        Stop
    }
}

struct Shower(String);

impl Shower {
    fn put(&mut self, text: impl Display) -> Result<(), Stop> {
        let _ = write!(self.0, "{text}");
        if self.0.len() > MAX_SHOWN {
            Err(Stop)
        } else {
            Ok(())
        }
    }

    fn open<'a>(&'a mut self, head: &str, open: &'static str, close: &'static str) -> Result<Compound<'a>, Stop> {
        self.put(head)?;
        self.put(open)?;
        Ok(Compound {
            s: self,
            first: true,
            close,
        })
    }
}

/// A sequence, tuple, map or struct being written: `close` ends it.
struct Compound<'a> {
    s: &'a mut Shower,
    first: bool,
    close: &'static str,
}

impl Compound<'_> {
    fn sep(&mut self, sep: &str) -> Result<(), Stop> {
        if !std::mem::take(&mut self.first) {
            self.s.put(sep)?;
        }
        Ok(())
    }

    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        self.sep(", ")?;
        value.serialize(&mut *self.s)
    }

    fn end(self) -> Result<(), Stop> {
        self.s.put(self.close)
    }
}

macro_rules! show_display {
    ($($f:ident: $t:ty),*) => {
        $(fn $f(self, v: $t) -> Result<(), Stop> { self.put(v) })*
    };
}

impl<'a> ser::Serializer for &'a mut Shower {
    type Ok = ();
    type Error = Stop;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Struct<'a>;
    type SerializeStructVariant = Struct<'a>;

    show_display!(
        serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64,
        serialize_u128: u128
    );

    fn serialize_f32(self, v: f32) -> Result<(), Stop> {
        self.put(format_args!("{v:?}"))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Stop> {
        self.put(format_args!("{v:?}"))
    }
    fn serialize_char(self, v: char) -> Result<(), Stop> {
        self.put(format_args!("{v:?}"))
    }
    fn serialize_str(self, v: &str) -> Result<(), Stop> {
        self.put(format_args!("{v:?}"))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Stop> {
        self.put(format_args!("{v:?}"))
    }
    fn serialize_none(self) -> Result<(), Stop> {
        self.put("None")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Stop> {
        self.put("Some(")?;
        v.serialize(&mut *self)?;
        self.put(")")
    }
    fn serialize_unit(self) -> Result<(), Stop> {
        self.put("()")
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<(), Stop> {
        self.put(name)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Stop> {
        self.put(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, v: &T) -> Result<(), Stop> {
        self.put(name)?;
        self.put("(")?;
        v.serialize(&mut *self)?;
        self.put(")")
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), Stop> {
        self.serialize_newtype_struct(variant, v)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Stop> {
        self.open("", "[", "]")
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a>, Stop> {
        // `(1,)`: a one-tuple keeps its comma, as in Rust.
        self.open("", "(", if len == 1 { ",)" } else { ")" })
    }
    fn serialize_tuple_struct(self, name: &'static str, _: usize) -> Result<Compound<'a>, Stop> {
        self.open(name, "(", ")")
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Stop> {
        self.open(variant, "(", ")")
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>, Stop> {
        self.open("", "{", "}")
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Struct<'a>, Stop> {
        self.put(name)?;
        Ok(Struct { s: self, fields: 0 })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Struct<'a>, Stop> {
        self.serialize_struct(variant, 0)
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Stop> {
        self.item(v)
    }
    fn end(self) -> Result<(), Stop> {
        Compound::end(self)
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Stop> {
        self.item(v)
    }
    fn end(self) -> Result<(), Stop> {
        Compound::end(self)
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Stop> {
        self.item(v)
    }
    fn end(self) -> Result<(), Stop> {
        Compound::end(self)
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Stop> {
        self.item(v)
    }
    fn end(self) -> Result<(), Stop> {
        Compound::end(self)
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), Stop> {
        self.item(k)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Stop> {
        self.s.put(": ")?;
        v.serialize(&mut *self.s)
    }
    fn end(self) -> Result<(), Stop> {
        Compound::end(self)
    }
}

/// A struct being written: `Name { a: 1, b: 2 }`, or `Name` alone.
struct Struct<'a> {
    s: &'a mut Shower,
    fields: usize,
}

impl Struct<'_> {
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, v: &T) -> Result<(), Stop> {
        self.s.put(if self.fields == 0 { " { " } else { ", " })?;
        self.fields += 1;
        self.s.put(key)?;
        self.s.put(": ")?;
        v.serialize(&mut *self.s)
    }

    fn finish(self) -> Result<(), Stop> {
        if self.fields > 0 {
            self.s.put(" }")?;
        }
        Ok(())
    }
}

impl ser::SerializeStruct for Struct<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), Stop> {
        self.field(key, v)
    }
    fn end(self) -> Result<(), Stop> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Struct<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), Stop> {
        self.field(key, v)
    }
    fn end(self) -> Result<(), Stop> {
        self.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Point {
        x: f64,
        y: i32,
    }

    #[derive(serde::Serialize)]
    struct Empty {}

    #[derive(serde::Serialize)]
    struct Pair(u8, u8);

    #[derive(serde::Serialize)]
    enum Shape {
        Dot,
        Circle(f32),
        Rect { w: u8, h: u8 },
        Line(u8, u8),
    }

    #[test]
    fn values_show_like_their_derived_debug() {
        let p = Point { x: 1.0, y: -2 };
        assert_eq!(show(&p), "Point { x: 1.0, y: -2 }");
        assert_eq!(show(&10), "10");
        assert_eq!(show("two"), "\"two\"");
        assert_eq!(show(&'c'), "'c'");
        assert_eq!(show(&vec![1u8, 2]), "[1, 2]");
        assert_eq!(show(&Some(3)), "Some(3)");
        assert_eq!(show(&None::<u8>), "None");
        assert_eq!(show(&(1,)), "(1,)");
        assert_eq!(show(&(1, "a")), "(1, \"a\")");
        assert_eq!(show(&()), "()");
        assert_eq!(show(&Empty {}), "Empty");
        assert_eq!(show(&Pair(1, 2)), "Pair(1, 2)");
        assert_eq!(show(&Shape::Dot), "Dot");
        assert_eq!(show(&Shape::Circle(0.5)), "Circle(0.5)");
        assert_eq!(show(&Shape::Rect { w: 1, h: 2 }), "Rect { w: 1, h: 2 }");
        assert_eq!(show(&Shape::Line(3, 4)), "Line(3, 4)");
        let map: std::collections::BTreeMap<&str, u8> = [("a", 1), ("b", 2)].into();
        assert_eq!(show(&map), "{\"a\": 1, \"b\": 2}");
    }

    #[test]
    fn long_values_are_cut() {
        let long = show(&vec![7u32; 10_000]);
        assert!(long.ends_with('…'));
        assert!(long.len() <= MAX_SHOWN + '…'.len_utf8());
        let wide = show(&"é".repeat(2_000));
        assert!(wide.ends_with('…') && wide.len() <= MAX_SHOWN + '…'.len_utf8());
    }
}
