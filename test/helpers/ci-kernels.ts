// The custom kernels CI builds before the tests (`make kernels`, the same fragments): every
// ramoops feature, LKDTM, SMP, KASLR and what the kernel's pstore selftests need.
export const CI_KERNEL_FRAGMENTS = 'base,pstore-full,lkdtm,smp,kaslr,selftests';
export const CI_KERNEL_61 = `build:debian-6.1:${CI_KERNEL_FRAGMENTS}`;
export const CI_KERNEL_612 = `build:debian-6.12:${CI_KERNEL_FRAGMENTS}`;
