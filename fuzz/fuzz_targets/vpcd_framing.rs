//! Arbitrary bytes from vpcd: the input is the whole byte stream vpcd sends over the
//! socket (length-prefixed messages, control codes, messages cut short, anything), to the
//! simulator's vpcd link over a stand-in applet that echoes each command.
//! Invariants: no panic; the link never fails on what vpcd sends (it answers, or ends the
//! connection for the caller to reconnect); every answer it writes is one well-framed
//! message, and there are no more answers than messages.
#![no_main]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use ukey_fuzz::Echo;
use ukey_sim::{DirectLink, vpcd};

/// A listener every run connects to, so runs do not use up ports.
static LISTENER: LazyLock<TcpListener> =
    LazyLock::new(|| TcpListener::bind("127.0.0.1:0").expect("a loopback port"));

fuzz_target!(|input: &[u8]| {
    let mut vpcd_end = TcpStream::connect(LISTENER.local_addr().expect("bound")).expect("connect");
    let (token_end, _) = LISTENER.accept().expect("accept");
    vpcd_end
        .write_all(input)
        .expect("the input fits the socket's buffer");
    vpcd_end.shutdown(Shutdown::Write).expect("shutdown");
    let mut link = DirectLink::new(Echo::default());
    let served = vpcd::serve_connection(&mut link, &token_end);
    assert!(served.is_ok(), "the link failed: {served:?}");
    drop(token_end);
    let mut answers = Vec::new();
    vpcd_end
        .read_to_end(&mut answers)
        .expect("read the answers");
    let mut rest = &answers[..];
    let mut count = 0;
    while let [high, low, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*high, *low]));
        assert!(tail.len() >= len, "an answer cut short: {answers:02X?}");
        rest = &tail[len..];
        count += 1;
    }
    assert!(rest.is_empty(), "a stray byte after the answers");
    assert!(count <= input.len() / 2 + 1, "more answers than messages");
});
