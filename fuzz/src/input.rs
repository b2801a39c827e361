//! Op-sequence inputs: [`Bytes`] (a length-prefixed byte string), the [`Encode`] trait that
//! writes a value in the byte form `arbitrary` 1.x reads it back from (so seed inputs are
//! written as op sequences, not as opaque bytes), and the `op_enum!`/`op_struct!` macros that
//! declare an input type with both.
//!
//! The encoding follows `arbitrary` 1.x (checked by the round-trip tests in `tests/corpus.rs`):
//! integers are little-endian, a `bool` is one byte (low bit), an `Option` is a `bool` then
//! the value, an enum is a `u32` scaled onto its variants (`(x * count) >> 32`) then the
//! fields in order, and a `Vec` taken from the rest of the input is a sequence of
//! `1, element` ended by the end of the data.

use arbitrary::{Arbitrary, Unstructured};

/// A byte string with a two-byte length prefix (up to 512 bytes): a raw frame inside an op.
///
/// `arbitrary`'s own `Vec<u8>` takes its length from the end of the whole input, which makes
/// op sequences hard to write by hand; this keeps every op self-contained.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

/// The longest [`Bytes`].
pub const MAX_BYTES: usize = 512;

impl<'a> Arbitrary<'a> for Bytes {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let len = usize::from(u16::arbitrary(u)?) % (MAX_BYTES + 1);
        let len = len.min(u.len());
        Ok(Self(u.bytes(len)?.to_vec()))
    }
}

/// Writes a value as the bytes `arbitrary` decodes back into it.
pub trait Encode {
    /// Appends the encoding of `self`.
    fn encode(&self, out: &mut Vec<u8>);
}

macro_rules! encode_int {
    ($($t:ty),*) => {
        $(impl Encode for $t {
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        })*
    };
}
encode_int!(u8, u16, u32, u64, i8, i16, i32, i64);

impl Encode for bool {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            None => false.encode(out),
            Some(v) => {
                true.encode(out);
                v.encode(out);
            }
        }
    }
}

impl<T: Encode, const N: usize> Encode for [T; N] {
    fn encode(&self, out: &mut Vec<u8>) {
        for v in self {
            v.encode(out);
        }
    }
}

impl Encode for Bytes {
    fn encode(&self, out: &mut Vec<u8>) {
        let len = self.0.len().min(MAX_BYTES);
        (len as u16).encode(out);
        out.extend_from_slice(&self.0[..len]);
    }
}

/// Writes the variant tag `index` of an enum of `count` variants, as the derive reads it.
pub fn encode_variant(out: &mut Vec<u8>, index: usize, count: usize) {
    // The smallest x with (x * count) >> 32 == index.
    let x = ((index as u64) << 32).div_ceil(count as u64);
    (x as u32).encode(out);
}

/// Encodes a sequence as the last field of an input (`arbitrary_take_rest` of a `Vec`).
pub fn encode_rest<T: Encode>(items: &[T], out: &mut Vec<u8>) {
    for item in items {
        true.encode(out);
        item.encode(out);
    }
}

/// Declares an enum of input operations: named-field or unit variants, deriving `Arbitrary`
/// and implementing [`Encode`] in the same variant order.
macro_rules! op_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident $({ $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? })?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, arbitrary::Arbitrary)]
        pub enum $name {
            $(
                $(#[$vmeta])*
                $variant $({ $($(#[$fmeta])* $field: $ty),* })?
            ),*
        }

        impl $crate::input::Encode for $name {
            #[allow(unused_variables)]
            fn encode(&self, out: &mut alloc::vec::Vec<u8>) {
                const NAMES: &[&str] = &[$(stringify!($variant)),*];
                let index = |name: &str| NAMES.iter().position(|n| *n == name).unwrap_or(0);
                match self {
                    $(
                        Self::$variant $({ $($field),* })? => {
                            $crate::input::encode_variant(out, index(stringify!($variant)), NAMES.len());
                            $($( $crate::input::Encode::encode($field, out); )*)?
                        }
                    )*
                }
            }
        }
    };
}

/// Declares a struct of input fields, deriving `Arbitrary` and implementing [`Encode`].
macro_rules! op_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$fmeta:meta])* pub $field:ident : $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, arbitrary::Arbitrary)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty),*
        }

        impl $crate::input::Encode for $name {
            fn encode(&self, out: &mut alloc::vec::Vec<u8>) {
                $( $crate::input::Encode::encode(&self.$field, out); )*
            }
        }
    };
}

pub(crate) use {op_enum, op_struct};

/// Decodes an op-sequence input the way `libfuzzer_sys::fuzz_target!` does: inputs shorter
/// than the type's least size are skipped, the rest is `arbitrary_take_rest`.
pub fn decode<'a, T: Arbitrary<'a>>(data: &'a [u8]) -> Option<T> {
    if data.len() < T::size_hint(0).0 {
        return None;
    }
    T::arbitrary_take_rest(Unstructured::new(data)).ok()
}

/// Whether `FUZZ_TRACE` is set: the op-sequence harnesses then print each step's state to
/// stderr (to read a crash input or check what a seed reaches).
pub fn trace() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some())
}
