# Warnings for the project's own targets (not for third-party code).
function(tokenfab_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wnon-virtual-dtor
                         -Wno-missing-field-initializers)
  if(TOKENFAB_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
