//! Making a new image file so that it appears complete or not at all.
//!
//! A new image is written aside, in a file of the same directory (`.NAME.creating`), made
//! durable, and given its name only when the caller says it is complete ([`NewImage::publish`]):
//! by a hard link, which fails if something took the name meanwhile and never replaces it,
//! then the removal of the file aside. A simulator may make its token in the file aside
//! (factory records, preloaded keys) and publish it after, so a token killed while being made
//! leaves no image at all, rather than one that cannot be opened.
//!
//! The file aside is locked while it is written, as an image is. A creation killed midway
//! leaves it behind unlocked: harmless, the next creation takes it over and starts it again.
//! A creation under way in another process holds it locked, and a second one is refused as
//! [`ImageErrorKind::Locked`].

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::{
    FileFlash, HEADER_LEN, ImageError, ImageErrorKind, MAX_PAGES, PAGE_SIZE, header, lock,
};

/// A new image still aside: [`NewImage::publish`] gives it its name. Dropped unpublished (an
/// error while the token was being made), the file aside is removed and no image is left.
#[derive(Debug)]
#[must_use = "a new image stays aside, and is removed, unless published"]
pub struct NewImage {
    aside: PathBuf,
    path: PathBuf,
    published: bool,
}

impl NewImage {
    /// Gives the image its name, unless something took that name meanwhile
    /// ([`ImageErrorKind::AlreadyExists`]; the image aside is then dropped).
    pub fn publish(mut self) -> Result<(), ImageError> {
        let io_error = |error| ImageError::new(&self.path, ImageErrorKind::Io(error));
        fs::hard_link(&self.aside, &self.path).map_err(|error| match error.kind() {
            io::ErrorKind::AlreadyExists => {
                ImageError::new(&self.path, ImageErrorKind::AlreadyExists)
            }
            _ => io_error(error),
        })?;
        self.published = true;
        // The image has its name; the name aside only keeps its bytes. If removing it fails,
        // it stays behind harmless, for the next creation to take over.
        let _ = fs::remove_file(&self.aside);
        sync_directory(&self.path).map_err(io_error)
    }
}

impl Drop for NewImage {
    fn drop(&mut self) {
        if !self.published {
            // Nothing else holds this name (we hold its lock); if removing it fails, it stays
            // behind harmless.
            let _ = fs::remove_file(&self.aside);
        }
    }
}

impl FileFlash {
    /// Creates a blank (fully erased) image of `pages` 4 KiB pages at `path`, complete or not
    /// at all; refuses to touch a file that already exists.
    pub fn create(path: impl AsRef<Path>, pages: u32) -> Result<Self, ImageError> {
        let (flash, new) = Self::create_aside(path, pages)?;
        new.publish()?;
        Ok(flash)
    }

    /// Creates a blank image of `pages` pages to become `path`, aside for now; it takes its
    /// name when the [`NewImage`] is published. Refuses if `path` already exists.
    pub fn create_aside(
        path: impl AsRef<Path>,
        pages: u32,
    ) -> Result<(Self, NewImage), ImageError> {
        let path = path.as_ref();
        let io_error = |error| ImageError::new(path, ImageErrorKind::Io(error));
        if pages == 0 || pages > MAX_PAGES {
            return Err(ImageError::new(path, ImageErrorKind::PageCount(pages)));
        }
        if fs::symlink_metadata(path).is_ok() {
            return Err(ImageError::new(path, ImageErrorKind::AlreadyExists));
        }
        let aside = aside_path(path).map_err(io_error)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&aside)
            .map_err(io_error)?;
        lock(&file, path)?;
        // From here the name aside is ours: dropping `new` removes it.
        let new = NewImage {
            aside,
            path: path.to_path_buf(),
            published: false,
        };
        let bytes = vec![0xFF; pages as usize * PAGE_SIZE];
        file.set_len(0)
            .and_then(|()| file.write_all_at(&header(pages), 0))
            .and_then(|()| file.write_all_at(&bytes, HEADER_LEN as u64))
            .and_then(|()| file.sync_all())
            .map_err(io_error)?;
        let flash = Self {
            file,
            path: path.to_path_buf(),
            bytes,
        };
        Ok((flash, new))
    }

    /// Opens the image at `path`, or, if there is no file there, creates a blank one of
    /// `pages` pages aside, to be published once the token in it is made. An existing image
    /// keeps its own page count.
    pub fn open_or_create(
        path: impl AsRef<Path>,
        pages: u32,
    ) -> Result<(Self, Option<NewImage>), ImageError> {
        let path = path.as_ref();
        match Self::create_aside(path, pages) {
            Ok((flash, new)) => Ok((flash, Some(new))),
            Err(error) if matches!(error.kind, ImageErrorKind::AlreadyExists) => {
                Self::open(path).map(|flash| (flash, None))
            }
            Err(error) => Err(error),
        }
    }
}

/// Where an image is written before it takes its name: `.NAME.creating` beside it.
pub(super) fn aside_path(path: &Path) -> io::Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "an image path must end in a file name",
        )
    })?;
    let mut aside = OsString::from(".");
    aside.push(name);
    aside.push(".creating");
    Ok(path.with_file_name(aside))
}

/// Makes the entries of `path`'s directory durable (a new name, a removed one).
fn sync_directory(path: &Path) -> io::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(directory)?.sync_all()
}
