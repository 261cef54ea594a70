// arrays_test.cpp — whole-array marshalling (offshoot/client/arrays.hpp) without a daemon:
// every fixed-size element type, empty arrays, arrays inside arrays, structs and dicts, and
// a type mismatch, through sdbus::Variant (which marshals its value into a message of its own).
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <offshoot/client/arrays.hpp>
#include <sdbus-c++/sdbus-c++.h>

namespace {

template <class T>
std::vector<T> sample(std::size_t n) {
    std::vector<T> v;
    v.reserve(n);
    for (std::size_t i = 0; i < n; ++i) v.push_back(static_cast<T>(i * 7919 + 13));
    if (n > 1) {
        v[0] = std::numeric_limits<T>::lowest();
        v[1] = std::numeric_limits<T>::max();
    }
    return v;
}

template <class T>
void round_trip(std::size_t n, const char* signature) {
    const auto in = sample<T>(n);
    const sdbus::Variant v(in);
    EXPECT_EQ(v.peekValueType(), signature);
    EXPECT_EQ(v.get<std::vector<T>>(), in) << signature << " with " << n << " elements";
}

template <class T>
class WholeArrays : public ::testing::Test {};
using ElementTypes = ::testing::Types<uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t, double>;
TYPED_TEST_SUITE(WholeArrays, ElementTypes);

TYPED_TEST(WholeArrays, SurviveARoundTripAtEverySize) {
    const std::string signature = "a" + sdbus::signature_of<TypeParam>::str();
    for (std::size_t n : {0u, 1u, 2u, 3u, 1000u, 65536u}) round_trip<TypeParam>(n, signature.c_str());
}

TEST(WholeArrays, EndAnArrayOfArraysWhereTheOuterArrayEnds) {
    const std::vector<std::vector<uint8_t>> in{{1, 2, 3}, {}, {255}, std::vector<uint8_t>(70000, 9)};
    const sdbus::Variant v(in);
    EXPECT_EQ(v.peekValueType(), "aay");
    EXPECT_EQ(v.get<std::vector<std::vector<uint8_t>>>(), in);

    const std::vector<std::vector<double>> none;
    EXPECT_TRUE(sdbus::Variant(none).get<std::vector<std::vector<double>>>().empty());
}

TEST(WholeArrays, WorkInsideStructsAndDictionaries) {
    using S = sdbus::Struct<std::vector<int32_t>, std::string, std::vector<uint8_t>, std::vector<double>>;
    const S in{std::vector<int32_t>{-1, 0, 1}, std::string("middle"), std::vector<uint8_t>{}, std::vector<double>{0.5}};
    const sdbus::Variant v(in);
    EXPECT_EQ(v.peekValueType(), "(aisayad)");
    EXPECT_EQ(v.get<S>(), in);

    const std::map<std::string, std::vector<uint64_t>> dict{{"a", {1, 2}}, {"b", {}}, {"c", {1ull << 63}}};
    const sdbus::Variant d(dict);
    EXPECT_EQ(d.peekValueType(), "a{sat}");
    EXPECT_EQ((d.get<std::map<std::string, std::vector<uint64_t>>>()), dict);
}

TEST(WholeArrays, RefuseAnArrayOfAnotherElementType) {
    const sdbus::Variant v(std::vector<int32_t>{1, 2, 3});
    EXPECT_THROW((void)v.get<std::vector<uint8_t>>(), sdbus::Error);
    EXPECT_THROW((void)v.get<std::vector<uint32_t>>(), sdbus::Error);
}

}  // namespace
