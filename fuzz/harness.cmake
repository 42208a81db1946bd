# The harness code of every fuzz target as libraries, shared by the libFuzzer
# binaries (fuzz/CMakeLists.txt) and the regression replay in the normal
# build (tests/CMakeLists.txt). The attestor's and the verifier's targets
# are apart: each side has its own config.h.
if(TARGET attest-fuzz-harness)
  return()
endif()
set(FUZZ_DIR ${CMAKE_SOURCE_DIR}/fuzz)

add_library(attest-fuzz-util STATIC ${FUZZ_DIR}/fuzz_util.c ${FUZZ_DIR}/fuzz_fake.c)
target_include_directories(attest-fuzz-util PUBLIC ${FUZZ_DIR})
target_link_libraries(attest-fuzz-util PUBLIC attest-common attest-simtpm)

add_library(attest-fuzz-attestor STATIC ${FUZZ_DIR}/fuzz_attestor_config.c ${FUZZ_DIR}/fuzz_attestor_requests.c)
target_link_libraries(attest-fuzz-attestor PUBLIC attest-fuzz-util attestor-core)

add_library(attest-fuzz-verifier STATIC
  ${FUZZ_DIR}/fuzz_tpmpub.c ${FUZZ_DIR}/fuzz_quote.c ${FUZZ_DIR}/fuzz_eventlog.c ${FUZZ_DIR}/fuzz_ima.c
  ${FUZZ_DIR}/fuzz_policy_json.c ${FUZZ_DIR}/fuzz_verifier_config.c ${FUZZ_DIR}/fuzz_ekcert.c
  ${FUZZ_DIR}/fuzz_verifier_push.c ${FUZZ_DIR}/fuzz_session_ids.c ${FUZZ_DIR}/fuzz_logpolicy.c)
target_link_libraries(attest-fuzz-verifier PUBLIC attest-fuzz-util verifier-core)

add_library(attest-fuzz-harness STATIC ${FUZZ_DIR}/targets.c)
target_include_directories(attest-fuzz-harness PUBLIC ${FUZZ_DIR})
target_link_libraries(attest-fuzz-harness PUBLIC attest-fuzz-attestor attest-fuzz-verifier attest-fuzz-util)
