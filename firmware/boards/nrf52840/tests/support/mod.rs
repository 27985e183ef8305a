//! A model of the nRF52840's flash for the host tests: NOR rules as the NVMC applies them,
//! and a refusal of any word programmed more than `n_WRITE` = 2 times between erases.
#![allow(dead_code)] // Each test crate uses its own part.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A test fails by panicking.

use std::cell::RefCell;
use std::rc::Rc;

use ukey_board_nrf52840::flash::{MAX_WRITES_PER_ERASE, Nvm, PAGE_SIZE, WORD_SIZE};

/// What the model's region holds and how it was used.
#[derive(Debug)]
pub struct Cells {
    /// The words, as the CPU reads them.
    pub words: Vec<u32>,
    /// Programs of each word since its page was last erased.
    pub programs: Vec<u32>,
    /// The most programs any word took between two erases.
    pub most_programs: u32,
    /// Page erases so far.
    pub erases: u32,
    /// A worn part: bits that no longer clear (they read as 1 whatever was programmed).
    pub stuck_ones: u32,
    /// A failing part: erases leave the page as it was.
    pub erase_fails: bool,
}

/// A handle to a modelled flash region; clones share it, as a token's flash outlives the
/// card that was opened over it.
#[derive(Clone, Debug)]
pub struct Model(pub Rc<RefCell<Cells>>);

impl Model {
    /// A blank region of `pages` pages.
    pub fn blank(pages: usize) -> Self {
        Self::words(pages * PAGE_SIZE / WORD_SIZE)
    }

    /// A blank region of `words` words (for regions that are not whole pages).
    pub fn words(words: usize) -> Self {
        Self(Rc::new(RefCell::new(Cells {
            words: vec![u32::MAX; words],
            programs: vec![0; words],
            most_programs: 0,
            erases: 0,
            stuck_ones: 0,
            erase_fails: false,
        })))
    }

    /// Programs per word, for the first `n` words.
    pub fn programs(&self, n: usize) -> Vec<u32> {
        self.0.borrow().programs[..n].to_vec()
    }
}

impl Nvm for Model {
    fn capacity(&self) -> usize {
        self.0.borrow().words.len() * WORD_SIZE
    }

    fn read(&self, offset: usize, bytes: &mut [u8]) {
        let cells = self.0.borrow();
        for (i, byte) in bytes.iter_mut().enumerate() {
            let at = offset + i;
            *byte = cells.words[at / WORD_SIZE].to_le_bytes()[at % WORD_SIZE];
        }
    }

    fn read_word(&self, offset: usize) -> u32 {
        assert!(offset.is_multiple_of(WORD_SIZE), "unaligned word read");
        let cells = self.0.borrow();
        cells.words[offset / WORD_SIZE] | cells.stuck_ones
    }

    fn program_word(&mut self, offset: usize, value: u32) {
        assert!(offset.is_multiple_of(WORD_SIZE), "unaligned program");
        let mut cells = self.0.borrow_mut();
        let word = offset / WORD_SIZE;
        cells.programs[word] += 1;
        let programs = cells.programs[word];
        assert!(
            programs <= MAX_WRITES_PER_ERASE,
            "word at {offset:#x} programmed {programs} times since its page was erased"
        );
        cells.most_programs = cells.most_programs.max(programs);
        cells.words[word] &= value;
    }

    fn erase_page(&mut self, offset: usize) {
        assert!(offset.is_multiple_of(PAGE_SIZE), "unaligned erase");
        let mut cells = self.0.borrow_mut();
        if cells.erase_fails {
            return;
        }
        let range = offset / WORD_SIZE..(offset + PAGE_SIZE) / WORD_SIZE;
        cells.words[range.clone()].fill(u32::MAX);
        cells.programs[range].fill(0);
        cells.erases += 1;
    }
}
