//! Chinese organisation identifiers in certificate subjects.
//!
//! The unified social credit code (统一社会信用代码, GB 32100-2015) has 18 characters from
//! `0123456789ABCDEFGHJKLMNPQRTUWXY` (no I, O, S, V, Z): registration authority (1),
//! organisation type (1), administrative division (6 digits), organisation code (9), check
//! character (1). The check character: give each of the first 17 characters its index `a_i`
//! in the alphabet and the weight `W_i = 3^(i-1) mod 31`; then `C18 = 31 - (Σ a_i·W_i mod
//! 31)`, with 31 written as `0`.
//!
//! Before 2015 an organisation's tax ID (纳税人识别号) had 15 characters: the 6-digit
//! division and the 9-character organisation code of GB 11714, whose last character checks
//! the first 8 with weights 3 7 9 10 5 8 4 2: `C9 = 11 - (Σ mod 11)`, 10 written `X`, 11 `0`.

/// The characters of a credit code, each at the index that is its value.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of GB 11714 organisation codes.
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// Which kind of identifier was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum IdKind {
    /// An 18-character unified social credit code.
    CreditCode,
    /// A 15-character taxpayer identification number (division and organisation code).
    TaxId,
}

/// An identifier found in a text, with the verdict on its check character.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct OrgId {
    /// What it is.
    pub kind: IdKind,
    /// The identifier as written.
    pub value: String,
    /// Whether its check character is right.
    pub check_ok: bool,
    /// The check character the rest of the identifier calls for.
    pub expected_check: char,
}

/// The check character (18th) for the first 17 characters of a credit code, or `None` if
/// they are not 17 characters of the credit code alphabet.
pub fn credit_code_check(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 {
        return None;
    }
    let mut weight = 1u32;
    let mut sum = 0u32;
    for &b in bytes {
        let value = ALPHABET.iter().position(|&a| a == b)? as u32;
        sum += value * weight;
        weight = weight * 3 % 31;
    }
    let check = (31 - sum % 31) % 31;
    Some(char::from(ALPHABET[check as usize]))
}

/// Whether `code` is a unified social credit code with a right check character.
pub fn is_valid_credit_code(code: &str) -> bool {
    code.len() == 18
        && code.is_char_boundary(17)
        && credit_code_check(&code[..17]) == code[17..].chars().next()
}

/// The check character (9th) of a GB 11714 organisation code from its first 8 characters.
pub fn org_code_check(first8: &str) -> Option<char> {
    let bytes = first8.as_bytes();
    if bytes.len() != 8 {
        return None;
    }
    let mut sum = 0u32;
    for (&b, w) in bytes.iter().zip(ORG_WEIGHTS) {
        let value = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return None,
        };
        sum += value * w;
    }
    Some(match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        n => char::from_digit(n, 10)?,
    })
}

/// Every credit code and old-style tax ID in `text`: runs of 18 (or 15) letters and digits
/// shaped like one. A run with a wrong check character is still reported, flagged.
pub fn find(text: &str) -> Vec<OrgId> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter_map(classify)
        .collect()
}

fn classify(run: &str) -> Option<OrgId> {
    let upper = run.to_ascii_uppercase();
    match upper.len() {
        18 if upper.bytes().all(|b| ALPHABET.contains(&b))
            && upper.as_bytes()[2..8].iter().all(u8::is_ascii_digit) =>
        {
            let expected = credit_code_check(&upper[..17])?;
            Some(OrgId {
                kind: IdKind::CreditCode,
                check_ok: upper.ends_with(expected),
                expected_check: expected,
                value: upper,
            })
        }
        15 if upper.as_bytes()[..6].iter().all(u8::is_ascii_digit) => {
            let expected = org_code_check(&upper[6..14])?;
            Some(OrgId {
                kind: IdKind::TaxId,
                check_ok: upper.ends_with(expected),
                expected_check: expected,
                value: upper,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes of large companies as published on their business licences (the first is the
    /// worked example of GB 32100-2015 itself).
    const PUBLISHED: [&str; 9] = [
        "91350100M000100Y43",
        "914403001922038216",
        "91440300708461136T",
        "91330100716105852F",
        "91110000802100433B",
        "911100001000044477",
        "91110108551385082Q",
        "91310000607216596U",
        "9111000071093123XX",
    ];

    #[test]
    fn published_codes_check() {
        for code in PUBLISHED {
            assert!(is_valid_credit_code(code), "{code}");
        }
    }

    #[test]
    fn any_changed_character_is_caught_in_the_check() {
        for code in PUBLISHED {
            for i in 0..17 {
                for &b in ALPHABET {
                    let mut bad = code.as_bytes().to_vec();
                    if bad[i] == b {
                        continue;
                    }
                    bad[i] = b;
                    let bad = String::from_utf8(bad).unwrap();
                    assert!(!is_valid_credit_code(&bad), "{bad}");
                }
            }
        }
    }

    #[test]
    fn letters_outside_the_alphabet_and_wrong_lengths() {
        assert_eq!(credit_code_check("91350100M000100YI"), None);
        assert_eq!(credit_code_check("9135"), None);
        assert!(!is_valid_credit_code("91350100M000100Y4"));
        assert!(!is_valid_credit_code("91350100M000100Y4中"));
    }

    #[test]
    fn org_code_of_a_credit_code_checks_too() {
        // Positions 9 to 17 of a credit code are the GB 11714 organisation code.
        assert_eq!(org_code_check("19220382"), Some('1'));
        assert_eq!(org_code_check("71610585"), Some('2'));
        assert_eq!(org_code_check("71093123"), Some('X'));
        assert_eq!(org_code_check("7109312x"), None);
    }

    #[test]
    fn found_in_subject_text() {
        let found =
            find("CN=某某科技有限公司,OU=91350100M000100Y43,O=x,serialNumber=440300192203821");
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].kind, IdKind::CreditCode);
        assert!(found[0].check_ok);
        assert_eq!(found[1].kind, IdKind::TaxId);
        assert!(found[1].check_ok);
        let wrong = find("OU=91350100M000100Y44");
        assert!(!wrong[0].check_ok);
        assert_eq!(wrong[0].expected_check, '3');
        assert!(find("CN=Zhang San,L=Beijing").is_empty());
    }
}
