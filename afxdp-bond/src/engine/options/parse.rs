//! Value parsing exactly as the kernel does it: `bond_opt_parse()` for the sysfs/netlink
//! path, `kstrtoint()`/`kstrtouint()` for the integer module parameters.

/// One entry of an option's value table (`struct bond_opt_value`): a name, the number it
/// stands for, and the flags that make it the default, the minimum or the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueDef {
    /// The name accepted on input and printed on output (`"fast"`, `"maxval"`).
    pub name: &'static str,
    /// The number it stands for.
    pub value: u64,
    /// `BOND_VALFLAG_*` bits.
    pub flags: u8,
}

/// `BOND_VALFLAG_DEFAULT`: the entry `default` selects.
pub const DEFAULT: u8 = 1;
/// `BOND_VALFLAG_MIN`: the low end of the accepted range.
pub const MIN: u8 = 2;
/// `BOND_VALFLAG_MAX`: the high end of the accepted range (a table without one accepts
/// only its own entries).
pub const MAX: u8 = 4;

/// A shorthand for table entries.
pub(crate) const fn v(name: &'static str, value: u64, flags: u8) -> ValueDef {
    ValueDef { name, value, flags }
}

/// C `isspace` in the "C" locale.
pub(crate) fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// What `bond_opt_parse()` makes of a string before looking at the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    /// Only digits and white space: the number `sscanf("%llu")` reads.
    Number(u64),
    /// Anything else: the first word, at most 32 bytes (`sscanf("%32s")`).
    Word(&'a str),
    /// Nothing to read (empty or all white space).
    Nothing,
}

fn tokenize(s: &str) -> Token<'_> {
    // The string ends at its first newline.
    let line = s.split('\n').next().unwrap_or("");
    if line.chars().all(|c| c.is_ascii_digit() || is_c_space(c)) {
        let digits = line.trim_start_matches(is_c_space);
        let end = digits
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(digits.len());
        if end == 0 {
            return Token::Nothing;
        }
        // The kernel's `simple_strntoull` does not stop at an overflow: the value wraps
        // modulo 2^64, as here.
        let n = digits[..end].bytes().fold(0u64, |acc, d| {
            acc.wrapping_mul(10).wrapping_add(u64::from(d - b'0'))
        });
        return Token::Number(n);
    }
    let word = line
        .trim_start_matches(is_c_space)
        .split(is_c_space)
        .next()
        .unwrap_or("");
    if word.is_empty() {
        return Token::Nothing;
    }
    // `%32s` stores at most 32 bytes of the word.
    let mut end = word.len().min(32);
    while !word.is_char_boundary(end) {
        end -= 1;
    }
    Token::Word(&word[..end])
}

/// `bond_opt_parse()`: the number a string stands for in `table`, or `None`.
///
/// - The string ends at its first newline.
/// - If it holds only digits and white space it is a number, which must be one of the
///   table's values or, when the table has a `MAX` entry, lie in `[MIN, MAX]` (`MIN` is 0
///   when the table has none).
/// - Otherwise its first word must be a name in the table, or `default` when the table has
///   a `DEFAULT` entry.
pub fn bond_opt_parse(table: &[ValueDef], s: &str) -> Option<u64> {
    match tokenize(s) {
        Token::Nothing => None,
        Token::Number(n) => {
            if table.iter().any(|e| e.value == n) {
                return Some(n);
            }
            let max = table.iter().find(|e| e.flags & MAX != 0)?;
            let min = table
                .iter()
                .find(|e| e.flags & MIN != 0)
                .map_or(0, |e| e.value);
            (min..=max.value).contains(&n).then_some(n)
        }
        Token::Word(w) => table
            .iter()
            .find(|e| (w == "default" && e.flags & DEFAULT != 0) || e.name == w)
            .map(|e| e.value),
    }
}

/// The name of `value` in `table` (`bond_opt_get_val()`), if it has one.
pub fn value_name(table: &[ValueDef], value: u64) -> Option<&'static str> {
    table.iter().find(|e| e.value == value).map(|e| e.name)
}

/// What a table accepts, for error messages: `slow (0), fast (1)`, or for a range
/// `0 - 2147483647 (or off, maxval)`.
pub fn describe_table(table: &[ValueDef]) -> String {
    use core::fmt::Write;
    let mut out = String::new();
    if let Some(max) = table.iter().find(|e| e.flags & MAX != 0) {
        let min = table
            .iter()
            .find(|e| e.flags & MIN != 0)
            .map_or(0, |e| e.value);
        let _ = write!(out, "{min} - {}", max.value);
        let names: Vec<&str> = table
            .iter()
            .map(|e| e.name)
            .chain(
                table
                    .iter()
                    .any(|e| e.flags & DEFAULT != 0)
                    .then_some("default"),
            )
            .collect();
        if !names.is_empty() {
            let _ = write!(out, " (or {})", names.join(", "));
        }
    } else {
        for (i, e) in table.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{} ({})", e.name, e.value);
        }
        if table.iter().any(|e| e.flags & DEFAULT != 0) {
            out.push_str(", default");
        }
    }
    out
}

/// `kstrtoull()` with base 0, the parser behind integer module parameters: an optional `+`
/// (and, for signed parameters, `-`), then `0x`/`0X` for hexadecimal, a leading `0` for
/// octal, or decimal; one trailing newline is allowed; nothing else.
fn kstrto_u64(s: &str) -> Option<u64> {
    let s = s.strip_suffix('\n').unwrap_or(s);
    let s = s.strip_prefix('+').unwrap_or(s);
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// `kstrtoint(s, 0)`: a module parameter of type `int`.
pub fn kstrtoint(s: &str) -> Option<i32> {
    let t = s.strip_suffix('\n').unwrap_or(s);
    if let Some(neg) = t.strip_prefix('-') {
        if neg.starts_with(['+', '-']) {
            return None;
        }
        let m = kstrto_u64(neg)?;
        return i32::try_from(-i64::try_from(m).ok()?).ok();
    }
    i32::try_from(kstrto_u64(t)?).ok()
}

/// `kstrtouint(s, 0)`: a module parameter of type `uint`.
pub fn kstrtouint(s: &str) -> Option<u32> {
    u32::try_from(kstrto_u64(s)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: &[ValueDef] = &[v("slow", 0, 0), v("fast", 1, 0)];
    const INTMAX: &[ValueDef] = &[v("off", 0, DEFAULT), v("maxval", 2147483647, MAX)];
    const MISSED: &[ValueDef] = &[
        v("minval", 1, MIN),
        v("maxval", 255, MAX),
        v("default", 2, DEFAULT),
    ];

    #[test]
    fn numbers_names_and_ranges() {
        assert_eq!(bond_opt_parse(RATE, "fast"), Some(1));
        assert_eq!(bond_opt_parse(RATE, "1"), Some(1));
        assert_eq!(bond_opt_parse(RATE, " 1 \n"), Some(1));
        assert_eq!(bond_opt_parse(RATE, "fast trailing"), Some(1));
        assert_eq!(bond_opt_parse(RATE, "2"), None);
        assert_eq!(bond_opt_parse(RATE, "default"), None);
        assert_eq!(bond_opt_parse(RATE, "Fast"), None);
        assert_eq!(bond_opt_parse(RATE, ""), None);
        assert_eq!(bond_opt_parse(RATE, "  "), None);
        assert_eq!(bond_opt_parse(INTMAX, "100"), Some(100));
        assert_eq!(bond_opt_parse(INTMAX, "maxval"), Some(2147483647));
        assert_eq!(bond_opt_parse(INTMAX, "default"), Some(0));
        assert_eq!(bond_opt_parse(INTMAX, "2147483648"), None);
        assert_eq!(bond_opt_parse(INTMAX, "-1"), None);
        assert_eq!(bond_opt_parse(INTMAX, "0x10"), None);
        assert_eq!(bond_opt_parse(MISSED, "0"), None);
        assert_eq!(bond_opt_parse(MISSED, "default"), Some(2));
        assert_eq!(bond_opt_parse(MISSED, "minval"), Some(1));
        // 2^64 + 1 wraps to 1, as the kernel's scanf does.
        assert_eq!(bond_opt_parse(MISSED, "18446744073709551617"), Some(1));
    }

    #[test]
    fn describes_what_is_allowed() {
        assert_eq!(describe_table(RATE), "slow (0), fast (1)");
        assert_eq!(
            describe_table(INTMAX),
            "0 - 2147483647 (or off, maxval, default)"
        );
    }

    #[test]
    fn kstrtoint_bases() {
        assert_eq!(kstrtoint("100"), Some(100));
        assert_eq!(kstrtoint("0x64"), Some(100));
        assert_eq!(kstrtoint("0144"), Some(100));
        assert_eq!(kstrtoint("-5"), Some(-5));
        assert_eq!(kstrtoint("+5\n"), Some(5));
        assert_eq!(kstrtoint("0"), Some(0));
        assert_eq!(kstrtoint("2147483648"), None);
        assert_eq!(kstrtoint("-2147483648"), Some(i32::MIN));
        assert_eq!(kstrtoint("off"), None);
        assert_eq!(kstrtoint(""), None);
        assert_eq!(kstrtoint("08"), None);
        assert_eq!(kstrtouint("-1"), None);
        assert_eq!(kstrtouint("4294967295"), Some(u32::MAX));
    }
}
