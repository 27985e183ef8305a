//! The store's flash adapter against a model of the NVMC: NOR rules, bounds, and the writes
//! it saves.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

mod support;

use embedded_storage::nor_flash::{NorFlash, NorFlashErrorKind, ReadNorFlash};
use support::Model;
use ukey_board_nrf52840::flash::{PAGE_SIZE, StoreFlash};

const PAGE: u32 = PAGE_SIZE as u32;

fn flash(pages: usize) -> (StoreFlash<Model>, Model) {
    let model = Model::blank(pages);
    (StoreFlash::new(model.clone()).unwrap(), model)
}

#[test]
fn only_whole_pages_make_a_store_flash() {
    assert!(StoreFlash::new(Model::words(0)).is_none());
    assert!(StoreFlash::new(Model::words(PAGE_SIZE / 4 - 1)).is_none());
    assert!(StoreFlash::new(Model::words(PAGE_SIZE / 4)).is_some());
}

#[test]
fn writes_clear_bits_and_never_set_them() {
    let (mut f, _) = flash(1);
    f.write(8, &[0x0F, 0xF0, 0x00, 0xFF]).unwrap();
    f.write(8, &[0xFF, 0x00, 0xFF, 0xF0]).unwrap();
    let mut got = [0; 4];
    f.read(8, &mut got).unwrap();
    assert_eq!(got, [0x0F, 0x00, 0x00, 0xF0]);
}

#[test]
fn a_write_that_changes_nothing_programs_nothing() {
    let (mut f, model) = flash(1);
    f.write(0, &[0xFF; 16]).unwrap();
    f.write(4, &[0x12, 0x34, 0x56, 0x78]).unwrap();
    f.write(4, &[0x12, 0x34, 0x56, 0x78]).unwrap();
    f.write(4, &[0xFF, 0xFF, 0xFF, 0xFF]).unwrap();
    assert_eq!(model.programs(4), [0, 1, 0, 0]);
}

#[test]
fn erase_restores_ones_and_the_write_budget() {
    let (mut f, model) = flash(2);
    f.write(PAGE, &[0; 8]).unwrap();
    f.write(0, &[0; 4]).unwrap();
    f.erase(PAGE, 2 * PAGE).unwrap();
    let mut got = [0; 8];
    f.read(PAGE, &mut got).unwrap();
    assert_eq!(got, [0xFF; 8]);
    f.read(0, &mut got[..4]).unwrap();
    assert_eq!(got[..4], [0; 4], "the other page keeps its data");
    let cells = model.0.borrow();
    assert_eq!(cells.erases, 1);
    assert_eq!(cells.programs.iter().sum::<u32>(), 1);
}

#[test]
fn requests_outside_or_misaligned_are_refused_and_change_nothing() {
    let (mut f, model) = flash(1);
    assert_eq!(f.write(2, &[0; 4]), Err(NorFlashErrorKind::NotAligned));
    assert_eq!(f.write(0, &[0; 3]), Err(NorFlashErrorKind::NotAligned));
    assert_eq!(f.write(PAGE, &[0; 4]), Err(NorFlashErrorKind::OutOfBounds));
    assert_eq!(
        f.write(u32::MAX - 1, &[0; 4]),
        Err(NorFlashErrorKind::OutOfBounds)
    );
    assert_eq!(f.erase(0, 100), Err(NorFlashErrorKind::NotAligned));
    assert_eq!(f.erase(PAGE, 0), Err(NorFlashErrorKind::OutOfBounds));
    assert_eq!(f.erase(0, 2 * PAGE), Err(NorFlashErrorKind::OutOfBounds));
    let mut byte = [0; 1];
    assert_eq!(f.read(PAGE, &mut byte), Err(NorFlashErrorKind::OutOfBounds));
    f.read(PAGE - 1, &mut byte).unwrap();
    let cells = model.0.borrow();
    assert!(cells.programs.iter().all(|&n| n == 0));
    assert_eq!(cells.erases, 0);
}

#[test]
fn a_word_that_does_not_take_its_value_is_an_error() {
    let (mut f, model) = flash(1);
    model.0.borrow_mut().stuck_ones = 1;
    assert_eq!(f.write(0, &[0, 0, 0, 0]), Err(NorFlashErrorKind::Other));
    assert_eq!(f.write(4, &[1, 0xFF, 0xFF, 0xFF]), Ok(()));
}

#[test]
fn a_page_that_does_not_erase_is_an_error() {
    let (mut f, model) = flash(1);
    model.0.borrow_mut().erase_fails = true;
    f.erase(0, PAGE).unwrap();
    f.write(12, &[0; 4]).unwrap();
    assert_eq!(f.erase(0, PAGE), Err(NorFlashErrorKind::Other));
}
