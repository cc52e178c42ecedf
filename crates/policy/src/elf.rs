//! What the dynamic loader needs from an ELF file: its interpreter, the libraries it names, their
//! search paths and the symbol versions it needs and defines. Read with the `object` crate.

use object::elf;
use object::read::elf::{Dyn as _, FileHeader, ProgramHeader as _};
use serde::Serialize;

/// Smallest file worth opening (an ELF header is 52 or 64 bytes).
pub const MIN_ELF_SIZE: u64 = 52;

/// The dynamic-loading facts of one ELF file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ElfInfo {
    /// 32 or 64.
    pub class: u8,
    /// `e_machine` (62 is x86-64, 183 AArch64).
    pub machine: u16,
    /// `ET_EXEC` or `ET_DYN` with an interpreter: something to run; otherwise a library.
    pub executable: bool,
    /// `PT_INTERP`: the loader the kernel starts (absent for static binaries and most libraries).
    pub interpreter: Option<String>,
    /// `DT_NEEDED`, in order.
    pub needed: Vec<String>,
    /// `DT_RPATH` entries (ignored by the loader when `DT_RUNPATH` is present).
    pub rpath: Vec<String>,
    /// `DT_RUNPATH` entries.
    pub runpath: Vec<String>,
    /// `DT_SONAME`.
    pub soname: Option<String>,
    /// Version needs (`SHT_GNU_VERNEED`): per library file name, the versions it must define.
    pub version_needs: Vec<VersionNeed>,
    /// Versions this file defines (`SHT_GNU_VERDEF`, without the base entry).
    pub version_defs: Vec<String>,
    /// Has a dynamic section at all (static executables do not).
    pub dynamic: bool,
}

/// Versions one library must define for this file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VersionNeed {
    pub file: String,
    /// (version name, weak): a weak need only warns when missing.
    pub versions: Vec<(String, bool)>,
}

/// Why an ELF file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("not a readable ELF file: {0}")]
pub struct ElfError(String);

/// Whether `head` starts with the ELF magic.
pub fn is_elf(head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF")
}

/// Reads an ELF file's loading facts. `Ok(None)`: not ELF, or an ELF object that is neither an
/// executable nor a shared object (relocatable `.o`, core dump).
pub fn parse(data: &[u8]) -> Result<Option<ElfInfo>, ElfError> {
    if !is_elf(data) {
        return Ok(None);
    }
    match object::FileKind::parse(data) {
        Ok(object::FileKind::Elf32) => parse_as::<elf::FileHeader32<object::Endianness>>(data, 32),
        Ok(object::FileKind::Elf64) => parse_as::<elf::FileHeader64<object::Endianness>>(data, 64),
        Ok(_) => Ok(None),
        Err(e) => Err(ElfError(e.to_string())),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn parse_as<Elf: FileHeader<Endian = object::Endianness>>(data: &[u8], class: u8) -> Result<Option<ElfInfo>, ElfError> {
    let err = |e: object::read::Error| ElfError(e.to_string());
    let header = Elf::parse(data).map_err(err)?;
    let endian = header.endian().map_err(err)?;
    let kind = header.e_type(endian);
    if kind != elf::ET_EXEC && kind != elf::ET_DYN {
        return Ok(None);
    }
    let mut info = ElfInfo { class, machine: header.e_machine(endian), ..ElfInfo::default() };
    let segments = header.program_headers(endian, data).map_err(err)?;
    for segment in segments {
        if let Some(interp) = segment.interpreter(endian, data).map_err(err)? {
            info.interpreter = Some(text(interp));
        }
    }
    info.executable = kind == elf::ET_EXEC || info.interpreter.is_some();
    let sections = header.sections(endian, data).map_err(err)?;
    if let Some((entries, strings_index)) = sections.dynamic(endian, data).map_err(err)? {
        info.dynamic = true;
        let strings = sections.strings(endian, data, strings_index).map_err(err)?;
        for entry in entries {
            let Some(tag) = entry.tag32(endian) else { continue };
            let value = || entry.string(endian, strings).map(text).map_err(err);
            match tag {
                elf::DT_NEEDED => info.needed.push(value()?),
                elf::DT_RPATH => info.rpath.extend(value()?.split(':').filter(|p| !p.is_empty()).map(String::from)),
                elf::DT_RUNPATH => info.runpath.extend(value()?.split(':').filter(|p| !p.is_empty()).map(String::from)),
                elf::DT_SONAME => info.soname = Some(value()?),
                _ => {}
            }
        }
    } else if segments.iter().any(|s| s.p_type(endian) == elf::PT_DYNAMIC) {
        // A dynamic segment without section headers (stripped with sstrip): not read here.
        return Err(ElfError("it has a dynamic segment but no section headers to read it by".into()));
    }
    if let Some((mut needs, index)) = sections.gnu_verneed(endian, data).map_err(err)? {
        let strings = sections.strings(endian, data, index).map_err(err)?;
        while let Some((need, mut auxes)) = needs.next().map_err(err)? {
            let file = text(need.file(endian, strings).map_err(err)?);
            let mut versions = Vec::new();
            while let Some(aux) = auxes.next().map_err(err)? {
                let weak = aux.vna_flags.get(endian) & elf::VER_FLG_WEAK != 0;
                versions.push((text(aux.name(endian, strings).map_err(err)?), weak));
            }
            info.version_needs.push(VersionNeed { file, versions });
        }
    }
    if let Some((mut defs, index)) = sections.gnu_verdef(endian, data).map_err(err)? {
        let strings = sections.strings(endian, data, index).map_err(err)?;
        while let Some((def, mut auxes)) = defs.next().map_err(err)? {
            if def.vd_flags.get(endian) & elf::VER_FLG_BASE != 0 {
                continue;
            }
            if let Some(aux) = auxes.next().map_err(err)? {
                info.version_defs.push(text(aux.name(endian, strings).map_err(err)?));
            }
        }
    }
    Ok(Some(info))
}
