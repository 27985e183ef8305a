//! A simulated token's image file (the firmware's `FileFlash`) from arbitrary bytes: its
//! header, then its pages.
//! Invariants: no panic; a refused file is left as it was; a file that opens gives a flash
//! of whole pages, smaller than the file, that reads end to end.
#![no_main]

use std::path::PathBuf;
use std::sync::LazyLock;

use embedded_storage::nor_flash::ReadNorFlash;
use libfuzzer_sys::fuzz_target;
use ukey_firmware::flash::{FileFlash, PAGE_SIZE};

/// The scratch image file of this process, in memory-backed storage when there is some.
static IMAGE: LazyLock<PathBuf> = LazyLock::new(|| {
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    dir.join(format!("ukey-fuzz-image-{}", std::process::id()))
});

fuzz_target!(|data: &[u8]| {
    let path = &*IMAGE;
    std::fs::write(path, data).expect("scratch image written");
    match FileFlash::open(path) {
        Ok(mut flash) => {
            let capacity = flash.capacity();
            assert!(capacity % PAGE_SIZE == 0 && capacity > 0 && capacity < data.len());
            let mut page = [0; PAGE_SIZE];
            for offset in (0..capacity).step_by(PAGE_SIZE) {
                let offset = u32::try_from(offset).expect("image offset");
                flash
                    .read(offset, &mut page)
                    .expect("a page of an open image reads");
            }
        }
        Err(_) => assert_eq!(
            std::fs::read(path).expect("scratch image read"),
            data,
            "a refused image was changed"
        ),
    }
});
