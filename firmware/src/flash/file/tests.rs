//! The image file: creation, opening, refusals and write-through.

use std::fs;

use super::new_image::aside_path;
use super::*;

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("ukey-file-flash-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn image(&self) -> PathBuf {
        self.0.join("token.img")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Cuts or extends (with zeros) the file at `path` to `len` bytes.
fn set_len(path: &Path, len: u64) {
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

/// Opens `path`, expects a refusal, and checks the file was left byte for byte as it was.
fn refused(path: &Path) -> ImageError {
    let before = fs::read(path).unwrap();
    let error = FileFlash::open(path).unwrap_err();
    assert_eq!(
        fs::read(path).unwrap(),
        before,
        "a refused open changed the file"
    );
    assert!(error.to_string().contains(&path.display().to_string()));
    error
}

#[test]
fn crc32_matches_the_standard_check_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

#[test]
fn create_then_open_round_trip() {
    let dir = TempDir::new("round-trip");
    let path = dir.image();
    let mut flash = FileFlash::create(&path, 3).unwrap();
    assert_eq!(flash.capacity(), 3 * PAGE_SIZE);
    assert_eq!(
        fs::metadata(&path).unwrap().len(),
        (HEADER_LEN + 3 * PAGE_SIZE) as u64
    );
    flash.write(8, &[1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
    flash
        .write(8, &[0xFF, 0xFF, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        .unwrap();
    flash.write(PAGE_SIZE as u32, &[0; 4]).unwrap();
    flash.erase(PAGE_SIZE as u32, 2 * PAGE_SIZE as u32).unwrap();
    flash.write(2 * PAGE_SIZE as u32 + 4, &[9; 4]).unwrap();
    assert_eq!(
        flash.write(2, &[0; 4]),
        Err(FileFlashError::Nor(NorFlashErrorKind::NotAligned))
    );
    flash.flush().unwrap();
    let expected = flash.bytes.clone();
    drop(flash);

    // Every write went through to the file, without waiting for a flush.
    let file = fs::read(&path).unwrap();
    assert_eq!(&file[..HEADER_LEN], &header(3));
    assert_eq!(&file[HEADER_LEN..], &expected[..]);

    let mut flash = FileFlash::open(&path).unwrap();
    let mut bytes = [0; 8];
    flash.read(8, &mut bytes).unwrap();
    assert_eq!(bytes, [1, 2, 0, 4, 5, 6, 7, 8]);
    flash.read(PAGE_SIZE as u32, &mut bytes).unwrap();
    assert_eq!(bytes, [0xFF; 8]);
    flash.read(2 * PAGE_SIZE as u32, &mut bytes).unwrap();
    assert_eq!(bytes, [0xFF, 0xFF, 0xFF, 0xFF, 9, 9, 9, 9]);
    assert_eq!(flash.bytes, expected);
}

#[test]
fn create_refuses_an_existing_file_and_bad_page_counts() {
    let dir = TempDir::new("create");
    let path = dir.image();
    fs::write(&path, b"precious").unwrap();
    let error = FileFlash::create(&path, 4).unwrap_err();
    assert!(matches!(error.kind(), ImageErrorKind::AlreadyExists));
    assert_eq!(fs::read(&path).unwrap(), b"precious");

    let other = dir.0.join("other.img");
    for pages in [0, MAX_PAGES + 1] {
        let error = FileFlash::create(&other, pages).unwrap_err();
        assert!(matches!(error.kind(), ImageErrorKind::PageCount(p) if *p == pages));
        assert!(!other.exists());
    }
}

#[test]
fn open_or_create_creates_once_then_opens() {
    let dir = TempDir::new("open-or-create");
    let path = dir.image();
    let (mut flash, new) = FileFlash::open_or_create(&path, 2).unwrap();
    flash.write(0, &[7; 4]).unwrap();
    assert!(!path.exists(), "a new image is aside until published");
    new.unwrap().publish().unwrap();
    drop(flash);
    let (mut flash, new) = FileFlash::open_or_create(&path, 5).unwrap();
    assert!(new.is_none());
    assert_eq!(flash.capacity(), 2 * PAGE_SIZE);
    let mut bytes = [0; 4];
    flash.read(0, &mut bytes).unwrap();
    assert_eq!(bytes, [7; 4]);
}

#[test]
fn a_second_open_is_refused_while_locked() {
    let dir = TempDir::new("locked");
    let path = dir.image();
    let first = FileFlash::create(&path, 1).unwrap();
    assert!(matches!(refused(&path).kind(), ImageErrorKind::Locked));
    assert!(matches!(
        FileFlash::open_or_create(&path, 1).unwrap_err().kind(),
        ImageErrorKind::Locked
    ));
    drop(first);
    let second = FileFlash::open(&path).unwrap();
    assert!(matches!(refused(&path).kind(), ImageErrorKind::Locked));
    drop(second);
}

#[test]
fn an_image_of_the_wrong_size_is_refused() {
    let dir = TempDir::new("size");
    let path = dir.image();
    drop(FileFlash::create(&path, 2).unwrap());
    let full = (HEADER_LEN + 2 * PAGE_SIZE) as u64;
    set_len(&path, full + 1);
    assert!(matches!(
        refused(&path).kind(),
        ImageErrorKind::TrailingBytes { expected, found } if *expected == full && *found == full + 1
    ));
    set_len(&path, full - 100);
    assert!(matches!(
        refused(&path).kind(),
        ImageErrorKind::Truncated { expected, found } if *expected == full && *found == full - 100
    ));
    // Down to a part of the header, then nothing.
    for len in [HEADER_LEN as u64 - 1, 8, 5, 0] {
        set_len(&path, len);
        assert!(matches!(
            refused(&path).kind(),
            ImageErrorKind::Truncated { .. }
        ));
    }
}

#[test]
fn a_foreign_file_is_refused() {
    let dir = TempDir::new("foreign");
    let path = dir.image();
    fs::write(&path, b"#!/bin/sh\necho not a token image\n").unwrap();
    assert!(matches!(refused(&path).kind(), ImageErrorKind::NotAnImage));
    fs::write(&path, b"UKEY").unwrap();
    assert!(matches!(
        refused(&path).kind(),
        ImageErrorKind::Truncated { .. }
    ));
    fs::write(&path, b"UKEYflsh and more").unwrap();
    assert!(matches!(refused(&path).kind(), ImageErrorKind::NotAnImage));
}

#[test]
fn a_corrupt_header_is_refused() {
    let dir = TempDir::new("corrupt");
    let path = dir.image();
    drop(FileFlash::create(&path, 2).unwrap());
    let good = fs::read(&path).unwrap();
    for at in [12, 16, 19, 20, 23] {
        let mut bad = good.clone();
        bad[at] ^= 0x04;
        fs::write(&path, &bad).unwrap();
        assert!(
            matches!(refused(&path).kind(), ImageErrorKind::CorruptHeader),
            "byte {at}"
        );
    }

    let mut bad = good.clone();
    bad[8] = 2;
    fs::write(&path, &bad).unwrap();
    assert!(matches!(
        refused(&path).kind(),
        ImageErrorKind::UnsupportedVersion(2)
    ));
}

#[test]
fn a_header_for_another_geometry_is_refused() {
    let dir = TempDir::new("geometry");
    let path = dir.image();
    let mut image = header(0).to_vec();
    fs::write(&path, &image).unwrap();
    assert!(matches!(
        refused(&path).kind(),
        ImageErrorKind::UnsupportedGeometry { pages: 0, .. }
    ));

    image = header(1).to_vec();
    image[12..16].copy_from_slice(&2048u32.to_le_bytes());
    let checksum = crc32(&image[..CHECKED_LEN]);
    image[CHECKED_LEN..].copy_from_slice(&checksum.to_le_bytes());
    image.resize(HEADER_LEN + 2048, 0xFF);
    fs::write(&path, &image).unwrap();
    assert!(matches!(
        refused(&path).kind(),
        ImageErrorKind::UnsupportedGeometry {
            page_size: 2048,
            pages: 1
        }
    ));
}

#[test]
fn a_missing_file_is_an_io_error() {
    let dir = TempDir::new("missing");
    let error = FileFlash::open(dir.image()).unwrap_err();
    assert!(matches!(error.kind(), ImageErrorKind::Io(e) if e.kind() == io::ErrorKind::NotFound));
    assert!(std::error::Error::source(&error).is_some());
}

/// What a creation killed midway leaves: the file aside, `len` bytes of a blank image's start.
fn killed_creation(path: &Path, len: usize) -> PathBuf {
    let aside = aside_path(path).unwrap();
    let mut start = header(2).to_vec();
    start.resize(HEADER_LEN + 2 * PAGE_SIZE, 0xFF);
    fs::write(&aside, &start[..len]).unwrap();
    aside
}

#[test]
fn a_creation_killed_midway_leaves_no_image_and_the_next_one_completes() {
    let dir = TempDir::new("killed-creation");
    let path = dir.image();
    for len in [0, 5, HEADER_LEN, HEADER_LEN + 100] {
        let aside = killed_creation(&path, len);
        assert!(matches!(
            FileFlash::open(&path).unwrap_err().kind(),
            ImageErrorKind::Io(error) if error.kind() == io::ErrorKind::NotFound
        ));
        let (flash, new) = FileFlash::open_or_create(&path, 3).unwrap();
        new.unwrap().publish().unwrap();
        assert_eq!(flash.capacity(), 3 * PAGE_SIZE);
        assert!(!aside.exists(), "the file aside is left behind");
        drop(flash);
        let file = fs::read(&path).unwrap();
        assert_eq!(file.len(), HEADER_LEN + 3 * PAGE_SIZE);
        assert_eq!(&file[..HEADER_LEN], &header(3));
        assert!(file[HEADER_LEN..].iter().all(|&byte| byte == 0xFF));
        fs::remove_file(&path).unwrap();
    }
}

#[test]
fn a_creation_under_way_elsewhere_is_refused_and_makes_no_image() {
    let dir = TempDir::new("creation-under-way");
    let path = dir.image();
    let aside = killed_creation(&path, HEADER_LEN);
    let elsewhere = File::options().write(true).open(&aside).unwrap();
    elsewhere.try_lock().unwrap();
    let error = FileFlash::create(&path, 2).unwrap_err();
    assert!(matches!(error.kind(), ImageErrorKind::Locked), "{error}");
    assert!(!path.exists());
    assert_eq!(fs::metadata(&aside).unwrap().len(), HEADER_LEN as u64);
    drop(elsewhere);
    FileFlash::create(&path, 2).unwrap();
}

#[test]
fn an_image_never_published_leaves_nothing() {
    let dir = TempDir::new("unpublished");
    let path = dir.image();
    let (mut flash, new) = FileFlash::create_aside(&path, 2).unwrap();
    flash.write(0, &[1; 4]).unwrap();
    drop(new);
    drop(flash);
    assert!(!path.exists());
    assert!(!aside_path(&path).unwrap().exists());
}

#[test]
fn publishing_never_replaces_an_image_made_meanwhile() {
    let dir = TempDir::new("publish-race");
    let path = dir.image();
    let (_flash, new) = FileFlash::create_aside(&path, 2).unwrap();
    fs::write(&path, b"made meanwhile").unwrap();
    let error = new.publish().unwrap_err();
    assert!(
        matches!(error.kind(), ImageErrorKind::AlreadyExists),
        "{error}"
    );
    assert_eq!(fs::read(&path).unwrap(), b"made meanwhile");
    assert!(!aside_path(&path).unwrap().exists());
}
