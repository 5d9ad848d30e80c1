#pragma once
static bool sw842_template_counts; static atomic_t template_count[0x1a], template_repeat_count, template_zeros_count, template_short_data_count, template_end_count;
static inline int sw842_debugfs_create(void){return 0;} static inline void sw842_debugfs_remove(void){}
