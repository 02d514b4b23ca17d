//! The panic handler of bare-metal builds (no OS, so no `std` to provide one).
//!
//! A panic in the engine is a bug (no input may cause one), and the library cannot unwind
//! into C or report through an allocator. It stops the CPU where the firmware can see it:
//! on Arm, the permanently undefined instruction `udf`, which raises a HardFault (or a
//! UsageFault where those are enabled) that the firmware's fault handler reports and resets
//! from; elsewhere, a loop a watchdog or debugger catches.

use core::panic::PanicInfo;

#[panic_handler]
fn panic(_info: &PanicInfo) -> ! {
    #[cfg(target_arch = "arm")]
    // SAFETY: `udf` touches no memory and no register; it only raises a fault, which does
    // not return here (and if a handler did return, the loop below holds the CPU).
    unsafe {
        core::arch::asm!("udf #0", options(nomem, nostack));
    }
    loop {
        core::hint::spin_loop();
    }
}
