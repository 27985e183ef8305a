//! Key agreement through the driver against the real applet behind a private pcscd, with a
//! recording transport: `Token::agree` on both curves equals the host's ECDH with the
//! p256/sm2 crates, in one transaction of SELECT, VERIFY, GENERAL AUTHENTICATE. One test in
//! this file, since it sets the process's `PCSCLITE_CSOCK_NAME` for the PC/SC client library.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken fixture"
)]

use p256::elliptic_curve::sec1::ToSec1Point;
use ukey_card_edge::Instruction;
use ukey_host::transport::Recording;
use ukey_host::{
    Algorithm, Error, KeyPolicy, ManagementKey, Pin, PublicKey, Selector, Slot, Token,
};
use ukey_sim::{Testbed, TokenOptions};

/// The host's side: the peer scalar times the card's point, in the card edge's form.
fn host_shared(peer_secret: &[u8; 32], card: &PublicKey) -> Vec<u8> {
    match card {
        PublicKey::P256(q) => {
            let d = p256::NonZeroScalar::try_from(peer_secret.as_slice()).unwrap();
            let shared = (q.to_projective() * *d).to_affine().to_sec1_point(false);
            shared.as_bytes()[1..33].to_vec()
        }
        PublicKey::Sm2(q) => {
            let d = sm2::NonZeroScalar::try_from(peer_secret.as_slice()).unwrap();
            let shared = (q.to_projective() * *d).to_affine().to_sec1_point(false);
            shared.as_bytes().to_vec()
        }
    }
}

#[test]
fn agreement_on_both_curves_equals_the_hosts_ecdh() {
    let bed = Testbed::with_token(&TokenOptions::default()).unwrap();
    // SAFETY: the only test of this binary, before any other thread reads the environment.
    unsafe { std::env::set_var("PCSCLITE_CSOCK_NAME", bed.socket()) };
    let opened = Token::open(&Selector::Reader(bed.reader(0).unwrap())).unwrap();
    let (recording, log) = Recording::new(opened.into_transport());
    let mut token = Token::with_transport(Box::new(recording));
    let pin = Pin::new("123456").unwrap();
    let peer_secret = [0x42u8; 32];
    for algorithm in [Algorithm::P256, Algorithm::Sm2] {
        let card = token
            .generate(
                &ManagementKey::default(),
                Slot::KeyManagement,
                algorithm,
                KeyPolicy::default(),
            )
            .unwrap();
        let peer = match algorithm {
            Algorithm::P256 => PublicKey::P256(
                p256::SecretKey::from_slice(&peer_secret)
                    .unwrap()
                    .public_key(),
            ),
            Algorithm::Sm2 => PublicKey::Sm2(
                sm2::SecretKey::from_slice(&peer_secret)
                    .unwrap()
                    .public_key(),
            ),
        };
        log.clear();
        let shared = token.agree(Slot::KeyManagement, &peer, Some(&pin)).unwrap();
        assert_eq!(*shared, host_shared(&peer_secret, &card), "{algorithm}");
        let seen: Vec<Vec<_>> = log
            .transactions()
            .iter()
            .map(|tx| tx.iter().map(|exchange| exchange.ins().unwrap()).collect())
            .collect();
        let expected = [
            Instruction::Select,
            Instruction::Verify,
            Instruction::GeneralAuthenticate,
        ];
        assert_eq!(seen, [expected.map(Instruction::byte).to_vec()]);
    }
    // 9D's policy is "once" and SELECT forgets the PIN: without it, refused.
    let peer = PublicKey::Sm2(
        sm2::SecretKey::from_slice(&peer_secret)
            .unwrap()
            .public_key(),
    );
    assert!(matches!(
        token.agree(Slot::KeyManagement, &peer, None),
        Err(Error::NotAuthenticated)
    ));
}
