//! Bytes → pare-policy's ELF reader (interpreter, DT_NEEDED, RPATH/RUNPATH, version needs and
//! definitions), as `pare ldd` reads every file of an image that starts like ELF. Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(info)) = pare_policy::elf::parse(data) {
        assert!(info.class == 32 || info.class == 64);
        for need in &info.version_needs {
            let _ = need.versions.len();
        }
    }
});
