//! The driver's C entry points in this process, called as pcscd calls them: channels and
//! slots, capabilities, power events, APDUs, bad arguments, and tokens plugged in and out
//! through the control socket. Each test uses a reader number of its own.

#[path = "support/apdu.rs"]
mod apdu;
#[path = "support/handler.rs"]
mod handler;

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use apdu::Exchange;
use handler::{Bed, SlotOf, open_with};
use ukey_firmware::ATR;
use ukey_ifd::ffi::{
    IFDHControl, IFDHCreateChannel, IFDHCreateChannelByName, IFDHGetCapabilities, IFDHPolling,
    IFDHPowerICC, IFDHSetCapabilities, IFDHSetProtocolParameters, IFDHStopPolling,
};
use ukey_ifd::protocol::SlotStatus;
use ukey_ifd::{
    ControlClient, Dword, IFD_COMMUNICATION_ERROR, IFD_ERROR_INSUFFICIENT_BUFFER,
    IFD_ERROR_NOT_SUPPORTED, IFD_ERROR_POWER_ACTION, IFD_ERROR_TAG, IFD_ICC_NOT_PRESENT,
    IFD_NO_SUCH_DEVICE, IFD_NOT_SUPPORTED, IFD_POWER_UP, IFD_PROTOCOL_NOT_SUPPORTED, IFD_SUCCESS,
    ReaderConfig, SCARD_ATTR_ATR_STRING, SCARD_PROTOCOL_T1, SlotConfig, TAG_IFD_ATR,
    TAG_IFD_POLLING_THREAD_KILLABLE, TAG_IFD_POLLING_THREAD_WITH_TIMEOUT,
    TAG_IFD_SIMULTANEOUS_ACCESS, TAG_IFD_SLOT_THREAD_SAFE, TAG_IFD_SLOTS_NUMBER,
    TAG_IFD_STOP_POLLING_THREAD, TAG_IFD_THREAD_SAFE,
};

/// A reader with a token in slot 0 (image `a.img`) and an empty slot 1, and a control
/// socket.
fn two_slots(reader: u16) -> Bed {
    let config = ReaderConfig {
        control: Some(PathBuf::from("control.sock")),
        slots: Some(2),
        slot: vec![SlotConfig {
            image: Some(PathBuf::from("a.img")),
            ..SlotConfig::default()
        }],
        ..ReaderConfig::default()
    };
    let bed = Bed::new(reader, &config);
    assert_eq!(bed.open(0), IFD_SUCCESS);
    assert_eq!(bed.open(1), IFD_SUCCESS);
    bed
}

fn close_all(bed: &Bed) {
    assert_eq!(bed.close(0), IFD_SUCCESS);
    assert_eq!(bed.close(1), IFD_SUCCESS);
}

#[test]
fn a_reader_reports_its_slots_and_what_they_hold() {
    let bed = two_slots(1);
    assert_eq!(bed.capability(0, TAG_IFD_SLOTS_NUMBER, 1), Ok(vec![2]));
    assert_eq!(
        bed.capability(0, TAG_IFD_SIMULTANEOUS_ACCESS, 1),
        Ok(vec![16])
    );
    assert_eq!(bed.capability(0, TAG_IFD_THREAD_SAFE, 1), Ok(vec![1]));
    assert_eq!(bed.capability(0, TAG_IFD_SLOT_THREAD_SAFE, 1), Ok(vec![1]));
    assert_eq!(
        bed.capability(0, TAG_IFD_POLLING_THREAD_KILLABLE, 1),
        Ok(vec![0])
    );
    assert_eq!(bed.capability(0, 0x0FB4, 1), Err(IFD_ERROR_TAG));
    assert!(bed.present(0));
    assert!(!bed.present(1));
    assert!(bed.path("a.img").exists(), "the configured image is made");
    close_all(&bed);
}

#[test]
fn power_up_answers_the_atr_and_apdus_reach_the_applet() {
    let bed = two_slots(2);
    assert_eq!(
        bed.capability(0, TAG_IFD_ATR, 33),
        Ok(vec![]),
        "no ATR unpowered"
    );
    let atr = bed.power_up(0);
    assert_eq!(atr, ATR);
    assert_eq!(bed.capability(0, TAG_IFD_ATR, 33), Ok(ATR.to_vec()));
    assert_eq!(
        bed.capability(0, SCARD_ATTR_ATR_STRING, 33),
        Ok(ATR.to_vec())
    );
    bed.expect(0, apdu::SELECT, [0x90, 0x00]);
    let version = bed.expect(0, apdu::GET_VERSION, [0x90, 0x00]);
    assert_eq!(version.len(), 3);
    assert_eq!(bed.power_down(0), IFD_SUCCESS);
    assert_eq!(bed.capability(0, TAG_IFD_ATR, 33), Ok(vec![]));
    close_all(&bed);
}

#[test]
fn every_power_event_forgets_the_verified_pin() {
    let bed = two_slots(3);
    let mut card = SlotOf(&bed, 0);
    bed.power_up(0);
    card.ok(apdu::SELECT);
    card.ok(&apdu::verify(apdu::DEFAULT_PIN));
    assert_eq!(card.sw(apdu::PIN_STATUS), [0x90, 0x00]);

    assert_eq!(bed.reset(0), ATR);
    card.ok(apdu::SELECT);
    assert_eq!(card.sw(apdu::PIN_STATUS)[0], 0x63, "after a warm reset");

    card.ok(&apdu::verify(apdu::DEFAULT_PIN));
    assert_eq!(bed.power_down(0), IFD_SUCCESS);
    bed.power_up(0);
    card.ok(apdu::SELECT);
    assert_eq!(
        card.sw(apdu::PIN_STATUS)[0],
        0x63,
        "after power down and up"
    );
    close_all(&bed);
}

#[test]
fn an_unpowered_card_or_an_empty_slot_takes_no_apdu() {
    let bed = two_slots(4);
    assert_eq!(
        bed.transmit(0, apdu::GET_VERSION),
        Err(IFD_COMMUNICATION_ERROR)
    );
    assert_eq!(bed.transmit(1, apdu::GET_VERSION), Err(IFD_ICC_NOT_PRESENT));
    assert_eq!(bed.power(1, IFD_POWER_UP), Err(IFD_ERROR_POWER_ACTION));
    assert_eq!(
        bed.power_down(1),
        IFD_SUCCESS,
        "an empty slot is already down"
    );
    close_all(&bed);
}

#[test]
fn buffers_too_small_are_refused_and_not_overrun() {
    let bed = two_slots(5);
    bed.power_up(0);
    assert_eq!(
        bed.capability(0, TAG_IFD_ATR, 4),
        Err(IFD_ERROR_INSUFFICIENT_BUFFER)
    );
    assert_eq!(
        bed.transmit_into(0, apdu::SELECT, 1),
        Err(IFD_ERROR_INSUFFICIENT_BUFFER)
    );

    let mut atr = [0xEE_u8; 40];
    let mut length: Dword = 4;
    // SAFETY: `atr` has more than `length` bytes.
    let code = unsafe { IFDHPowerICC(bed.lun(0), IFD_POWER_UP, atr.as_mut_ptr(), &mut length) };
    assert_eq!(code, IFD_ERROR_POWER_ACTION);
    assert_eq!(length, 0);
    assert!(atr.iter().all(|&byte| byte == 0xEE), "nothing written");
    close_all(&bed);
}

#[test]
fn bad_arguments_and_unknown_readers_get_error_codes() {
    let bed = two_slots(6);
    // SAFETY: a null DEVICENAME is what the test is about.
    assert_eq!(
        unsafe { IFDHCreateChannelByName(bed.lun(0), std::ptr::null()) },
        IFD_COMMUNICATION_ERROR
    );
    assert_eq!(IFDHCreateChannel(bed.lun(0), 1), IFD_COMMUNICATION_ERROR);
    assert_eq!(bed.open(2), IFD_NO_SUCH_DEVICE, "the reader has two slots");
    assert_eq!(
        open_with(bed.lun(0), &bed.path("other.toml")),
        IFD_COMMUNICATION_ERROR,
        "reader 6 is open with another configuration"
    );
    assert_eq!(bed.transmit(7, apdu::GET_VERSION), Err(IFD_NO_SUCH_DEVICE));
    assert_eq!(
        ukey_ifd::ffi::IFDHICCPresence(0x1_0000_0000),
        IFD_COMMUNICATION_ERROR
    );
    assert_eq!(
        ukey_ifd::ffi::IFDHICCPresence(0x00FF_0000),
        IFD_COMMUNICATION_ERROR,
        "reader 255 is not open"
    );
    assert_eq!(bed.power(0, 503), Err(IFD_NOT_SUPPORTED));
    assert_eq!(
        IFDHSetProtocolParameters(bed.lun(0), SCARD_PROTOCOL_T1, 0, 0, 0, 0),
        IFD_SUCCESS
    );
    assert_eq!(
        IFDHSetProtocolParameters(bed.lun(0), 0x0001, 0, 0, 0, 0),
        IFD_PROTOCOL_NOT_SUPPORTED,
        "T=0"
    );
    assert_eq!(
        IFDHSetCapabilities(bed.lun(0), TAG_IFD_ATR, 0, std::ptr::null_mut()),
        IFD_ERROR_TAG
    );
    let mut returned: Dword = 99;
    // SAFETY: null buffers of length 0, and a DWORD for the count.
    let code = unsafe {
        IFDHControl(
            bed.lun(0),
            0x4200_0D48,
            std::ptr::null(),
            0,
            std::ptr::null_mut(),
            0,
            &mut returned,
        )
    };
    assert_eq!((code, returned), (IFD_ERROR_NOT_SUPPORTED, 0));
    // SAFETY: a null Length is what the test is about.
    let code = unsafe {
        IFDHGetCapabilities(
            bed.lun(0),
            TAG_IFD_SLOTS_NUMBER,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    assert_eq!(code, IFD_COMMUNICATION_ERROR);
    close_all(&bed);
    assert_eq!(bed.close(0), IFD_COMMUNICATION_ERROR, "already closed");
}

#[test]
fn a_bad_configuration_opens_no_reader_and_says_why() {
    let bed = Bed::new(7, &ReaderConfig::default());
    std::fs::write(&bed.config, "slots = 2\nimgae = \"a.img\"\n").unwrap();
    assert_eq!(bed.open(0), IFD_COMMUNICATION_ERROR);
    assert_eq!(
        ukey_ifd::ffi::IFDHICCPresence(bed.lun(0)),
        IFD_COMMUNICATION_ERROR
    );
    assert_eq!(
        open_with(bed.lun(0), &bed.path("missing.toml")),
        IFD_COMMUNICATION_ERROR
    );
    // A profile file that does not exist is refused before any image is made.
    let config = ReaderConfig {
        slot: vec![SlotConfig {
            image: Some(PathBuf::from("a.img")),
            profile: Some("nowhere.toml".to_string()),
            ..SlotConfig::default()
        }],
        ..ReaderConfig::default()
    };
    config.write(&bed.config).unwrap();
    assert_eq!(bed.open(0), IFD_COMMUNICATION_ERROR);
    assert!(!bed.path("a.img").exists());
}

#[test]
fn tokens_come_and_go_through_the_control_socket_and_keep_their_state() {
    let bed = two_slots(8);
    let control = ControlClient::new(&bed.path("control.sock"));
    let mut card = SlotOf(&bed, 0);
    bed.power_up(0);
    card.ok(apdu::SELECT);
    card.ok(&apdu::change_pin(apdu::DEFAULT_PIN, b"24681357"));

    control.remove(0).unwrap();
    assert!(!bed.present(0));
    assert_eq!(bed.transmit(0, apdu::GET_VERSION), Err(IFD_ICC_NOT_PRESENT));
    assert_eq!(
        control.status().unwrap(),
        [
            SlotStatus {
                slot: 0,
                image: None
            },
            SlotStatus {
                slot: 1,
                image: None
            }
        ]
    );

    // The same image in the other slot: the token keeps its changed PIN.
    control.insert(1, Some(&bed.path("a.img"))).unwrap();
    assert!(bed.present(1));
    bed.power_up(1);
    let mut moved = SlotOf(&bed, 1);
    moved.ok(apdu::SELECT);
    assert_eq!(moved.sw(&apdu::verify(apdu::DEFAULT_PIN))[0], 0x63);
    moved.ok(&apdu::verify(b"24681357"));

    // Slot 0's configured image is locked by slot 1 now.
    let error = control.insert(0, None).unwrap_err();
    assert!(error.to_string().contains("in use"), "{error}");
    assert!(!bed.present(0));
    control.remove(1).unwrap();
    control.insert(0, None).unwrap();
    assert!(bed.present(0));
    close_all(&bed);
}

#[test]
fn control_commands_that_cannot_be_done_are_refused_with_a_reason() {
    let bed = two_slots(9);
    let control = ControlClient::new(&bed.path("control.sock"));
    let refused = |result: std::io::Result<()>, words: &str| {
        let error = result.unwrap_err().to_string();
        assert!(error.contains(words), "{error:?} should say {words:?}");
    };
    refused(control.insert(0, None), "holds a token");
    refused(control.remove(1), "empty");
    refused(control.insert(1, None), "no image");
    refused(control.insert(2, None), "no slot 2");
    assert!(bed.present(0));
    assert!(!bed.present(1));
    // As a shell would send them: a new image named relative to the configuration's
    // folder is made; one command a connection.
    let send = |line: &[u8]| {
        use std::io::{Read, Write};
        let mut stream = std::os::unix::net::UnixStream::connect(bed.path("control.sock")).unwrap();
        stream.write_all(line).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    };
    assert_eq!(send(b"insert 1 fresh.img\nremove 1\n"), "ok\n");
    assert!(send(b"bogus\n").starts_with("error: unknown command"));
    assert_eq!(
        send(b"status\n"),
        format!(
            "slot 0 present {}\nslot 1 present {}\nok\n",
            bed.path("a.img").display(),
            bed.path("fresh.img").display()
        )
    );
    assert!(bed.path("fresh.img").exists());
    assert!(bed.present(1));
    close_all(&bed);
}

#[test]
fn the_polling_function_wakes_on_insert_remove_and_stop() {
    let bed = two_slots(10);
    let lun = bed.lun(1);
    let address = |tag| {
        let bytes = bed.capability(1, tag, 8).unwrap();
        usize::from_ne_bytes(bytes.try_into().unwrap())
    };
    assert_eq!(
        address(TAG_IFD_POLLING_THREAD_WITH_TIMEOUT),
        IFDHPolling as *const () as usize
    );
    assert_eq!(
        address(TAG_IFD_STOP_POLLING_THREAD),
        IFDHStopPolling as *const () as usize
    );

    // pcscd's event thread: ask presence, then poll for a change.
    let (asked, presence) = mpsc::channel();
    let (returned, polled) = mpsc::channel();
    let poller = thread::spawn(move || {
        for _ in 0..2 {
            asked.send(ukey_ifd::ffi::IFDHICCPresence(lun)).unwrap();
            returned.send(IFDHPolling(lun, 600_000)).unwrap();
        }
    });
    let control = ControlClient::new(&bed.path("control.sock"));
    let wait = Duration::from_secs(30);
    assert_eq!(
        presence.recv_timeout(wait),
        Ok(ukey_ifd::IFD_ICC_NOT_PRESENT)
    );
    control.insert(1, Some(&bed.path("b.img"))).unwrap();
    assert_eq!(
        polled.recv_timeout(wait),
        Ok(IFD_SUCCESS),
        "woken by the insertion"
    );
    assert_eq!(presence.recv_timeout(wait), Ok(ukey_ifd::IFD_ICC_PRESENT));
    control.remove(1).unwrap();
    assert_eq!(
        polled.recv_timeout(wait),
        Ok(IFD_SUCCESS),
        "woken by the removal"
    );
    poller.join().unwrap();

    // Stopped: the next poll returns at once, however long its timeout.
    let poller = thread::spawn(move || {
        ukey_ifd::ffi::IFDHICCPresence(lun);
        IFDHPolling(lun, 600_000)
    });
    assert_eq!(IFDHStopPolling(lun), IFD_SUCCESS);
    assert_eq!(poller.join().unwrap(), IFD_SUCCESS);
    close_all(&bed);
}

#[test]
fn closing_every_slot_flushes_the_images_and_removes_the_socket() {
    let bed = two_slots(11);
    let socket = bed.path("control.sock");
    assert!(socket.exists());
    close_all(&bed);
    assert!(!socket.exists());
    // The image is unlocked: a token can open it again, here in a new reader.
    let again = Bed::new(12, &ReaderConfig::with_images(&[bed.path("a.img")], None));
    assert_eq!(again.open(0), IFD_SUCCESS);
    assert!(again.present(0));
    assert_eq!(again.close(0), IFD_SUCCESS);
}

#[test]
fn a_token_swapped_between_two_polls_is_reported_removed_once() {
    let bed = two_slots(13);
    let control = ControlClient::new(&bed.path("control.sock"));
    assert!(bed.present(0));
    control.remove(0).unwrap();
    control.insert(0, Some(&bed.path("other.img"))).unwrap();
    // pcscd had not looked in between: it must still see a removal, then the new card.
    assert!(!bed.present(0), "the removal is reported");
    assert!(bed.present(0), "then the new token");

    // The polling function wakes for a swap it was not told of.
    control.remove(0).unwrap();
    control.insert(0, None).unwrap();
    let lun = bed.lun(0);
    let poller = thread::spawn(move || IFDHPolling(lun, 600_000));
    let (done, finished) = mpsc::channel();
    thread::spawn(move || done.send(poller.join().unwrap()));
    assert_eq!(
        finished.recv_timeout(Duration::from_secs(30)),
        Ok(IFD_SUCCESS)
    );
    assert!(!bed.present(0));
    assert!(bed.present(0));
    close_all(&bed);
}

#[test]
fn a_stale_control_socket_is_replaced_and_a_file_in_its_place_is_not() {
    let config = ReaderConfig {
        control: Some(PathBuf::from("control.sock")),
        ..ReaderConfig::with_images(&[PathBuf::from("a.img")], None)
    };
    let bed = Bed::new(14, &config);
    // Left by a pcscd that died: a socket file nobody listens on.
    drop(std::os::unix::net::UnixListener::bind(bed.path("control.sock")).unwrap());
    assert_eq!(bed.open(0), IFD_SUCCESS);
    assert_eq!(
        ControlClient::new(&bed.path("control.sock"))
            .status()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(bed.close(0), IFD_SUCCESS);

    std::fs::write(bed.path("control.sock"), "not a socket").unwrap();
    assert_eq!(bed.open(0), IFD_COMMUNICATION_ERROR);
    assert_eq!(
        std::fs::read_to_string(bed.path("control.sock")).unwrap(),
        "not a socket",
        "left as it was"
    );
    assert_eq!(
        ukey_ifd::ffi::IFDHICCPresence(bed.lun(0)),
        IFD_COMMUNICATION_ERROR
    );
}
