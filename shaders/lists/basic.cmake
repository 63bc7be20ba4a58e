# Every shader variant, one line each: tokenfab_shader(<runtime name> <source> [DEFINES ...]).
tokenfab_shader(fill_f32 fill_f32.comp)
