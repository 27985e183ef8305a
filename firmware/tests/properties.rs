//! Properties over random input: no APDU panics or hangs the card, only a well-formed and
//! authorized command changes what is stored, and the PIN and PUK counters follow a small
//! reference model over random sequences of operations.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

mod support;

use proptest::prelude::*;
use support::*;

/// Instructions of the card edge, so that random APDUs reach the handlers, not only the parser.
const KNOWN_INS: [u8; 17] = [
    0xA4, 0x20, 0x24, 0x2C, 0xCB, 0xDB, 0x47, 0x87, 0xFD, 0xF8, 0xF7, 0xFF, 0xFA, 0xFB, 0xC0, 0x00,
    0xB0,
];

fn structured_apdu() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![Just(0x00u8), Just(0x10), any::<u8>()],
        prop_oneof![proptest::sample::select(KNOWN_INS.to_vec()), any::<u8>()],
        prop_oneof![Just(0u8), Just(0x3F), Just(0xFF), any::<u8>()],
        prop_oneof![
            Just(0x80u8),
            Just(0x9B),
            Just(0x9A),
            Just(0xFF),
            any::<u8>()
        ],
        proptest::collection::vec(any::<u8>(), 0..48),
        proptest::option::of(any::<u8>()),
    )
        .prop_map(|(cla, ins, p1, p2, data, le)| {
            let mut a = vec![cla, ins, p1, p2];
            if !data.is_empty() {
                a.push(data.len() as u8);
                a.extend(data);
            }
            a.extend(le);
            a
        })
}

fn any_apdu() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        structured_apdu(),
        proptest::collection::vec(any::<u8>(), 0..300)
    ]
}

/// Commands that anyone may send and that change stored state: the PIN family.
fn may_change_state(apdu: &[u8], sw: u16) -> bool {
    matches!(apdu.get(1), Some(0x20 | 0x24 | 0x2C)) && (sw == 0x9000 || sw & 0xFFF0 == 0x63C0)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_apdus_never_panic_and_change_nothing_unauthorized(apdus in proptest::collection::vec(any_apdu(), 1..24)) {
        let before = *card().into_flash().expect("a loaded token").as_bytes();
        let mut c = reopen(&before, &ukey_firmware::Profile::standard(1), 1);
        let mut may_change = false;
        for apdu in &apdus {
            let r = c.process(apdu).to_vec();
            prop_assert!(r.len() >= 2, "no status word for {:02X?}", apdu);
            let sw = u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]]);
            may_change |= may_change_state(apdu, sw);
        }
        let after = *c.into_flash().expect("a loaded token").as_bytes();
        prop_assert!(may_change || before == after, "stored state changed without an authorized command");
    }
}

/// One step of the PIN/PUK reference model.
#[derive(Clone, Debug)]
enum Op {
    Verify(usize),
    VerifyStatus,
    Forget,
    ChangePin(usize, usize),
    ChangePuk(usize, usize),
    Unblock(usize, usize),
    PowerCycle,
}

const PINS: [&[u8]; 3] = [b"123456", b"654321", b"11111111"];
const PUKS: [&[u8]; 2] = [b"12345678", b"87654321"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..PINS.len()).prop_map(Op::Verify),
        1 => Just(Op::VerifyStatus),
        1 => Just(Op::Forget),
        2 => (0..PINS.len(), 0..PINS.len()).prop_map(|(a, b)| Op::ChangePin(a, b)),
        1 => (0..PUKS.len(), 0..PUKS.len()).prop_map(|(a, b)| Op::ChangePuk(a, b)),
        2 => (0..PUKS.len(), 0..PINS.len()).prop_map(|(a, b)| Op::Unblock(a, b)),
        1 => Just(Op::PowerCycle),
    ]
}

/// The model: what the card edge says PIN and PUK do.
struct Model {
    pin: &'static [u8],
    puk: &'static [u8],
    pin_left: u8,
    puk_left: u8,
    verified: bool,
}

impl Model {
    /// Spends a try of a counter and answers as VERIFY does.
    fn attempt(left: &mut u8, right: bool) -> u16 {
        if *left == 0 {
            return 0x6983;
        }
        if right {
            *left = 3;
            0x9000
        } else {
            *left -= 1;
            0x63C0 | u16::from(*left)
        }
    }

    fn apply(&mut self, op: &Op) -> u16 {
        match *op {
            Op::Verify(i) => {
                self.verified = false;
                let sw = Self::attempt(&mut self.pin_left, PINS[i] == self.pin);
                self.verified = sw == 0x9000;
                sw
            }
            Op::VerifyStatus => match (self.verified, self.pin_left) {
                (true, _) => 0x9000,
                (false, 0) => 0x6983,
                (false, n) => 0x63C0 | u16::from(n),
            },
            Op::Forget | Op::PowerCycle => {
                self.verified = false;
                0x9000
            }
            Op::ChangePin(old, new) => {
                let sw = Self::attempt(&mut self.pin_left, PINS[old] == self.pin);
                if sw == 0x9000 {
                    self.pin = PINS[new];
                    self.verified = true;
                }
                sw
            }
            Op::ChangePuk(old, new) => {
                let sw = Self::attempt(&mut self.puk_left, PUKS[old] == self.puk);
                if sw == 0x9000 {
                    self.puk = PUKS[new];
                }
                sw
            }
            Op::Unblock(puk, new) => {
                self.verified = false;
                let sw = Self::attempt(&mut self.puk_left, PUKS[puk] == self.puk);
                if sw == 0x9000 {
                    self.pin = PINS[new];
                    self.pin_left = 3;
                }
                sw
            }
        }
    }
}

fn on_card(c: &mut TestCard, op: &Op) -> u16 {
    let pair = |a: &[u8], b: &[u8]| [padded(a), padded(b)].concat();
    match *op {
        Op::Verify(i) => verify(c, PINS[i]),
        Op::VerifyStatus => send(c, &h("00 20 00 80")).1,
        Op::Forget => send(c, &h("00 20 FF 80")).1,
        Op::ChangePin(old, new) => send(c, &apdu(0, 0x24, 0, 0x80, &pair(PINS[old], PINS[new]))).1,
        Op::ChangePuk(old, new) => send(c, &apdu(0, 0x24, 0, 0x81, &pair(PUKS[old], PUKS[new]))).1,
        Op::Unblock(puk, new) => send(c, &apdu(0, 0x2C, 0, 0x80, &pair(PUKS[puk], PINS[new]))).1,
        Op::PowerCycle => {
            c.reset();
            0x9000
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn pin_and_puk_counters_follow_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let mut c = card();
        let mut model = Model { pin: PINS[0], puk: PUKS[0], pin_left: 3, puk_left: 3, verified: false };
        for op in &ops {
            let expected = model.apply(op);
            prop_assert_eq!(on_card(&mut c, op), expected, "{:?}", op);
            let meta = expect(&mut c, &h("00 F7 00 80"), 0x9000);
            prop_assert_eq!(meta[meta.len() - 1], model.pin_left);
            let meta = expect(&mut c, &h("00 F7 00 81"), 0x9000);
            prop_assert_eq!(meta[meta.len() - 1], model.puk_left);
        }
    }
}
