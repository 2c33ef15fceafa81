/**
 * The seed catalog of tradable securities. Reference prices are approximate late-2025 levels,
 * written from memory as starting points for the simulated market — not live or official data.
 * Within each group the best-known names come first; catalog search breaks ties by this order.
 */
import { fixed, parseFixed } from "../money.ts";

/**
 * Shares priced at least this at listing trade in fractions (to a millionth of a share, as
 * brokers offer them); cheaper ones, which a whole share already makes small, trade whole.
 */
const FRACTIONABLE_FROM = fixed(30);
/** Decimals of a fractional share. */
export const FRACTIONAL_SHARE_DECIMALS = 6;

/** Whether a share listed at `referencePrice` trades in fractions (compared in fixed point). */
function fractionable(referencePrice: string): boolean {
  return parseFixed(referencePrice, 4) >= FRACTIONABLE_FROM;
}

/**
 * Annual dividend yields, in basis points of the price, of the catalog's regular cash-dividend
 * payers (approximate late-2025 levels, from memory, as parameters of the simulated market).
 * Each pays a quarter of it every quarter (lib/market/corporate_actions.ts). Names absent here pay
 * nothing; crypto never does.
 */
export const DIVIDEND_YIELD_BP: Readonly<Record<string, number>> = {
  AAPL: 40,
  MSFT: 70,
  AVGO: 70,
  ORCL: 100,
  CSCO: 210,
  IBM: 220,
  ACN: 220,
  QCOM: 210,
  TXN: 310,
  INTC: 120,
  GOOGL: 30,
  META: 30,
  TMUS: 170,
  T: 440,
  VZ: 660,
  CMCSA: 480,
  HD: 250,
  MCD: 240,
  LOW: 200,
  TJX: 130,
  SBUX: 290,
  NKE: 250,
  WMT: 100,
  COST: 60,
  PG: 280,
  KO: 290,
  PEP: 380,
  PM: 360,
  MO: 690,
  MDLZ: 310,
  CL: 260,
  TGT: 480,
  KHC: 620,
  LLY: 70,
  JNJ: 260,
  ABBV: 300,
  UNH: 270,
  MRK: 380,
  ABT: 190,
  AMGN: 310,
  GILD: 270,
  PFE: 700,
  BMY: 520,
  CVS: 350,
  JPM: 190,
  V: 70,
  MA: 50,
  BAC: 220,
  WFC: 200,
  GS: 180,
  MS: 260,
  AXP: 90,
  C: 250,
  BLK: 200,
  SCHW: 120,
  GE: 60,
  CAT: 140,
  RTX: 170,
  HON: 220,
  UNP: 240,
  ETN: 120,
  LMT: 290,
  UPS: 680,
  MMM: 190,
  XOM: 340,
  CVX: 440,
  COP: 350,
  EOG: 350,
  PSX: 350,
  NEE: 280,
  SO: 330,
  DUK: 350,
  AEP: 340,
  O: 560,
  PLD: 360,
  SPG: 480,
  AMT: 370,
  SPY: 110,
  VOO: 120,
  IVV: 120,
  VTI: 120,
  QQQ: 50,
  SCHD: 380,
  VEA: 320,
  AGG: 380,
  BND: 380,
  TLT: 430,
};

/** Every security the catalog seeds: US stocks by GICS sector, then ETFs, then crypto pairs. */
export const SECURITY_SEEDS: readonly SecuritySeed[] = [
  // symbol, name, exchange, reference price (USD), annualised volatility
  ...stocks("Information Technology", [
    ["AAPL", "Apple Inc.", "NASDAQ", "277.50", 0.27],
    ["MSFT", "Microsoft Corporation", "NASDAQ", "483.20", 0.24],
    ["NVDA", "NVIDIA Corporation", "NASDAQ", "181.40", 0.5],
    ["AVGO", "Broadcom Inc.", "NASDAQ", "385.00", 0.5],
    ["ORCL", "Oracle Corporation", "NYSE", "198.50", 0.5],
    ["PLTR", "Palantir Technologies Inc.", "NASDAQ", "182.30", 0.65],
    ["AMD", "Advanced Micro Devices, Inc.", "NASDAQ", "218.70", 0.55],
    ["CSCO", "Cisco Systems, Inc.", "NASDAQ", "77.90", 0.22],
    ["IBM", "International Business Machines Corporation", "NYSE", "305.60", 0.28],
    ["CRM", "Salesforce, Inc.", "NYSE", "255.40", 0.33],
    ["MU", "Micron Technology, Inc.", "NASDAQ", "245.60", 0.6],
    ["INTU", "Intuit Inc.", "NASDAQ", "655.00", 0.3],
    ["ACN", "Accenture plc", "NYSE", "268.30", 0.28],
    ["ADBE", "Adobe Inc.", "NASDAQ", "345.10", 0.33],
    ["QCOM", "QUALCOMM Incorporated", "NASDAQ", "174.20", 0.35],
    ["AMAT", "Applied Materials, Inc.", "NASDAQ", "252.30", 0.45],
    ["TXN", "Texas Instruments Incorporated", "NASDAQ", "176.50", 0.3],
    ["LRCX", "Lam Research Corporation", "NASDAQ", "152.40", 0.5],
    ["KLAC", "KLA Corporation", "NASDAQ", "1150.00", 0.42],
    ["ANET", "Arista Networks, Inc.", "NYSE", "129.80", 0.5],
    ["PANW", "Palo Alto Networks, Inc.", "NASDAQ", "188.40", 0.35],
    ["INTC", "Intel Corporation", "NASDAQ", "39.80", 0.55],
  ]),
  ...stocks("Communication Services", [
    ["GOOGL", "Alphabet Inc. Class A", "NASDAQ", "313.70", 0.32],
    ["META", "Meta Platforms, Inc.", "NASDAQ", "652.40", 0.38],
    ["NFLX", "Netflix, Inc.", "NASDAQ", "94.50", 0.35],
    ["TMUS", "T-Mobile US, Inc.", "NASDAQ", "205.10", 0.22],
    ["DIS", "The Walt Disney Company", "NYSE", "111.30", 0.27],
    ["T", "AT&T Inc.", "NYSE", "25.20", 0.2],
    ["VZ", "Verizon Communications Inc.", "NYSE", "40.80", 0.18],
    ["CMCSA", "Comcast Corporation", "NASDAQ", "27.40", 0.27],
  ]),
  ...stocks("Consumer Discretionary", [
    ["AMZN", "Amazon.com, Inc.", "NASDAQ", "229.80", 0.32],
    ["TSLA", "Tesla, Inc.", "NASDAQ", "445.20", 0.6],
    ["HD", "The Home Depot, Inc.", "NYSE", "352.60", 0.22],
    ["MCD", "McDonald's Corporation", "NYSE", "311.40", 0.17],
    ["BKNG", "Booking Holdings Inc.", "NASDAQ", "5250.00", 0.28],
    ["LOW", "Lowe's Companies, Inc.", "NYSE", "246.50", 0.24],
    ["TJX", "The TJX Companies, Inc.", "NYSE", "151.20", 0.2],
    ["SBUX", "Starbucks Corporation", "NASDAQ", "85.10", 0.32],
    ["NKE", "NIKE, Inc.", "NYSE", "65.30", 0.35],
    ["CMG", "Chipotle Mexican Grill, Inc.", "NYSE", "35.20", 0.38],
    ["ABNB", "Airbnb, Inc.", "NASDAQ", "125.40", 0.38],
    ["GM", "General Motors Company", "NYSE", "77.80", 0.33],
    ["F", "Ford Motor Company", "NYSE", "13.40", 0.35],
  ]),
  ...stocks("Consumer Staples", [
    ["WMT", "Walmart Inc.", "NASDAQ", "114.80", 0.2],
    ["COST", "Costco Wholesale Corporation", "NASDAQ", "895.40", 0.2],
    ["PG", "The Procter & Gamble Company", "NYSE", "148.30", 0.16],
    ["KO", "The Coca-Cola Company", "NYSE", "70.40", 0.15],
    ["PEP", "PepsiCo, Inc.", "NASDAQ", "147.60", 0.18],
    ["PM", "Philip Morris International Inc.", "NYSE", "154.80", 0.25],
    ["MO", "Altria Group, Inc.", "NYSE", "58.40", 0.2],
    ["MDLZ", "Mondelez International, Inc.", "NASDAQ", "55.20", 0.2],
    ["CL", "Colgate-Palmolive Company", "NYSE", "78.10", 0.17],
    ["TGT", "Target Corporation", "NYSE", "95.30", 0.33],
    ["KHC", "The Kraft Heinz Company", "NASDAQ", "24.90", 0.22],
  ]),
  ...stocks("Health Care", [
    ["LLY", "Eli Lilly and Company", "NYSE", "1045.00", 0.35],
    ["JNJ", "Johnson & Johnson", "NYSE", "206.40", 0.16],
    ["ABBV", "AbbVie Inc.", "NYSE", "226.80", 0.25],
    ["UNH", "UnitedHealth Group Incorporated", "NYSE", "330.50", 0.4],
    ["MRK", "Merck & Co., Inc.", "NYSE", "101.20", 0.25],
    ["ABT", "Abbott Laboratories", "NYSE", "127.40", 0.2],
    ["TMO", "Thermo Fisher Scientific Inc.", "NYSE", "580.30", 0.25],
    ["ISRG", "Intuitive Surgical, Inc.", "NASDAQ", "568.20", 0.3],
    ["AMGN", "Amgen Inc.", "NASDAQ", "332.50", 0.24],
    ["DHR", "Danaher Corporation", "NYSE", "226.10", 0.27],
    ["GILD", "Gilead Sciences, Inc.", "NASDAQ", "122.80", 0.24],
    ["PFE", "Pfizer Inc.", "NYSE", "25.60", 0.22],
    ["BMY", "Bristol-Myers Squibb Company", "NYSE", "50.40", 0.25],
    ["CVS", "CVS Health Corporation", "NYSE", "79.60", 0.3],
    ["MRNA", "Moderna, Inc.", "NASDAQ", "28.40", 0.6],
  ]),
  ...stocks("Financials", [
    ["BRK.B", "Berkshire Hathaway Inc. Class B", "NYSE", "502.30", 0.16],
    ["JPM", "JPMorgan Chase & Co.", "NYSE", "312.40", 0.23],
    ["V", "Visa Inc.", "NYSE", "334.60", 0.2],
    ["MA", "Mastercard Incorporated", "NYSE", "548.90", 0.21],
    ["BAC", "Bank of America Corporation", "NYSE", "53.80", 0.26],
    ["WFC", "Wells Fargo & Company", "NYSE", "88.60", 0.28],
    ["GS", "The Goldman Sachs Group, Inc.", "NYSE", "855.00", 0.3],
    ["MS", "Morgan Stanley", "NYSE", "166.20", 0.28],
    ["AXP", "American Express Company", "NYSE", "362.40", 0.27],
    ["C", "Citigroup Inc.", "NYSE", "106.30", 0.3],
    ["BLK", "BlackRock, Inc.", "NYSE", "1065.00", 0.25],
    ["SCHW", "The Charles Schwab Corporation", "NYSE", "93.20", 0.27],
    ["SPGI", "S&P Global Inc.", "NYSE", "502.70", 0.2],
    ["PYPL", "PayPal Holdings, Inc.", "NASDAQ", "61.40", 0.35],
    ["COIN", "Coinbase Global, Inc.", "NASDAQ", "268.50", 0.75],
    ["HOOD", "Robinhood Markets, Inc.", "NASDAQ", "128.60", 0.75],
  ]),
  ...stocks("Industrials", [
    ["GE", "GE Aerospace", "NYSE", "298.40", 0.3],
    ["CAT", "Caterpillar Inc.", "NYSE", "585.20", 0.3],
    ["RTX", "RTX Corporation", "NYSE", "177.30", 0.22],
    ["UBER", "Uber Technologies, Inc.", "NYSE", "84.70", 0.4],
    ["HON", "Honeywell International Inc.", "NASDAQ", "196.40", 0.22],
    ["UNP", "Union Pacific Corporation", "NYSE", "232.10", 0.22],
    ["ETN", "Eaton Corporation plc", "NYSE", "346.80", 0.33],
    ["BA", "The Boeing Company", "NYSE", "204.60", 0.35],
    ["DE", "Deere & Company", "NYSE", "475.30", 0.25],
    ["LMT", "Lockheed Martin Corporation", "NYSE", "462.50", 0.22],
    ["UPS", "United Parcel Service, Inc.", "NYSE", "97.80", 0.3],
    ["MMM", "3M Company", "NYSE", "171.20", 0.27],
    ["FDX", "FedEx Corporation", "NYSE", "282.40", 0.32],
    ["DAL", "Delta Air Lines, Inc.", "NYSE", "65.20", 0.4],
  ]),
  ...stocks("Energy", [
    ["XOM", "Exxon Mobil Corporation", "NYSE", "117.40", 0.22],
    ["CVX", "Chevron Corporation", "NYSE", "152.30", 0.22],
    ["COP", "ConocoPhillips", "NYSE", "90.10", 0.28],
    ["EOG", "EOG Resources, Inc.", "NYSE", "107.90", 0.28],
    ["SLB", "SLB (Schlumberger)", "NYSE", "38.20", 0.35],
    ["MPC", "Marathon Petroleum Corporation", "NYSE", "185.30", 0.33],
    ["PSX", "Phillips 66", "NYSE", "135.60", 0.3],
    ["OXY", "Occidental Petroleum Corporation", "NYSE", "41.80", 0.32],
  ]),
  ...stocks("Materials", [
    ["LIN", "Linde plc", "NASDAQ", "410.50", 0.18],
    ["SHW", "The Sherwin-Williams Company", "NYSE", "336.20", 0.24],
    ["ECL", "Ecolab Inc.", "NYSE", "265.40", 0.2],
    ["APD", "Air Products and Chemicals, Inc.", "NYSE", "256.10", 0.27],
    ["FCX", "Freeport-McMoRan Inc.", "NYSE", "45.30", 0.42],
    ["NEM", "Newmont Corporation", "NYSE", "95.40", 0.42],
    ["NUE", "Nucor Corporation", "NYSE", "160.20", 0.33],
    ["DOW", "Dow Inc.", "NYSE", "23.10", 0.4],
  ]),
  ...stocks("Real Estate", [
    ["PLD", "Prologis, Inc.", "NYSE", "127.30", 0.25],
    ["AMT", "American Tower Corporation", "NYSE", "178.20", 0.25],
    ["EQIX", "Equinix, Inc.", "NASDAQ", "765.00", 0.25],
    ["SPG", "Simon Property Group, Inc.", "NYSE", "185.40", 0.24],
    ["O", "Realty Income Corporation", "NYSE", "57.10", 0.18],
    ["PSA", "Public Storage", "NYSE", "275.20", 0.22],
    ["CCI", "Crown Castle Inc.", "NYSE", "90.40", 0.27],
  ]),
  ...stocks("Utilities", [
    ["NEE", "NextEra Energy, Inc.", "NYSE", "82.40", 0.24],
    ["SO", "The Southern Company", "NYSE", "88.30", 0.17],
    ["DUK", "Duke Energy Corporation", "NYSE", "118.20", 0.16],
    ["CEG", "Constellation Energy Corporation", "NASDAQ", "362.50", 0.48],
    ["AEP", "American Electric Power Company, Inc.", "NASDAQ", "118.10", 0.18],
    ["VST", "Vistra Corp.", "NYSE", "170.40", 0.5],
    ["D", "Dominion Energy, Inc.", "NYSE", "59.80", 0.2],
    ["EXC", "Exelon Corporation", "NASDAQ", "45.10", 0.18],
  ]),
  // symbol, name, exchange, category, reference price (USD), annualised volatility
  ...etfs([
    ["SPY", "SPDR S&P 500 ETF Trust", "NYSE ARCA", "Broad market", "681.50", 0.16],
    ["VOO", "Vanguard S&P 500 ETF", "NYSE ARCA", "Broad market", "626.40", 0.16],
    ["IVV", "iShares Core S&P 500 ETF", "NYSE ARCA", "Broad market", "684.20", 0.16],
    ["QQQ", "Invesco QQQ Trust", "NASDAQ", "Broad market", "621.30", 0.21],
    ["VTI", "Vanguard Total Stock Market ETF", "NYSE ARCA", "Broad market", "335.80", 0.17],
    [
      "DIA",
      "SPDR Dow Jones Industrial Average ETF Trust",
      "NYSE ARCA",
      "Broad market",
      "481.20",
      0.15,
    ],
    ["IWM", "iShares Russell 2000 ETF", "NYSE ARCA", "Broad market", "250.40", 0.22],
    ["SCHD", "Schwab U.S. Dividend Equity ETF", "NYSE ARCA", "Dividend", "27.40", 0.14],
    ["VEA", "Vanguard FTSE Developed Markets ETF", "NYSE ARCA", "International", "61.80", 0.15],
    ["EFA", "iShares MSCI EAFE ETF", "NYSE ARCA", "International", "95.20", 0.15],
    ["VWO", "Vanguard FTSE Emerging Markets ETF", "NYSE ARCA", "International", "54.10", 0.18],
    ["AGG", "iShares Core U.S. Aggregate Bond ETF", "NYSE ARCA", "Bonds", "100.40", 0.05],
    ["BND", "Vanguard Total Bond Market ETF", "NASDAQ", "Bonds", "74.30", 0.05],
    ["TLT", "iShares 20+ Year Treasury Bond ETF", "NASDAQ", "Bonds", "88.20", 0.14],
    ["HYG", "iShares iBoxx $ High Yield Corporate Bond ETF", "NYSE ARCA", "Bonds", "80.60", 0.07],
    ["GLD", "SPDR Gold Shares", "NYSE ARCA", "Commodities", "387.60", 0.18],
    ["SLV", "iShares Silver Trust", "NYSE ARCA", "Commodities", "52.40", 0.32],
    ["XLK", "Technology Select Sector SPDR Fund", "NYSE ARCA", "Sector", "288.50", 0.24],
    ["XLF", "Financial Select Sector SPDR Fund", "NYSE ARCA", "Sector", "54.20", 0.17],
    ["XLV", "Health Care Select Sector SPDR Fund", "NYSE ARCA", "Sector", "155.40", 0.15],
    ["XLE", "Energy Select Sector SPDR Fund", "NYSE ARCA", "Sector", "90.10", 0.22],
    ["SMH", "VanEck Semiconductor ETF", "NASDAQ", "Sector", "350.20", 0.35],
    ["VNQ", "Vanguard Real Estate ETF", "NYSE ARCA", "Sector", "89.30", 0.18],
    ["ARKK", "ARK Innovation ETF", "NYSE ARCA", "Thematic", "79.60", 0.45],
    ["IBIT", "iShares Bitcoin Trust ETF", "NASDAQ", "Digital assets", "51.20", 0.55],
    ["FBTC", "Fidelity Wise Origin Bitcoin Fund", "BATS", "Digital assets", "78.90", 0.55],
  ]),
  // symbol, name, reference price (USD), annualised volatility, price decimals
  ...cryptoPairs([
    ["BTC/USD", "Bitcoin", "90250.00", 0.6, 2],
    ["ETH/USD", "Ethereum", "3080.50", 0.7, 2],
    ["SOL/USD", "Solana", "134.20", 0.85, 2],
    ["XRP/USD", "XRP", "2.0540", 0.8, 4],
    ["DOGE/USD", "Dogecoin", "0.14250", 0.9, 5],
    ["ADA/USD", "Cardano", "0.4180", 0.85, 4],
    ["LTC/USD", "Litecoin", "81.40", 0.75, 2],
    ["LINK/USD", "Chainlink", "13.620", 0.85, 3],
    ["AVAX/USD", "Avalanche", "13.480", 0.9, 3],
    ["DOT/USD", "Polkadot", "2.1200", 0.85, 4],
  ]),
];

function stocks(
  sector: GicsSector,
  rows: [string, string, Exchange, string, number][],
): SecuritySeed[] {
  return rows.map(([symbol, name, exchange, referencePrice, volatility]) =>
    listed(symbol, name, exchange, "us_equity", sector, referencePrice, volatility)
  );
}

function etfs(rows: [string, string, Exchange, EtfCategory, string, number][]): SecuritySeed[] {
  return rows.map(([symbol, name, exchange, category, referencePrice, volatility]) =>
    listed(symbol, name, exchange, "etf", category, referencePrice, volatility)
  );
}

/**
 * Listed shares trade in cents, or in hundredths of a cent below $1 (SEC Rule 612); in fractions
 * of a share when fractionable (FRACTIONABLE_FROM), else in whole shares.
 */
function listed(
  symbol: string,
  name: string,
  exchange: Exchange,
  assetClass: "us_equity" | "etf",
  sector: GicsSector | EtfCategory,
  referencePrice: string,
  volatility: number,
): SecuritySeed {
  const priceDecimals = referencePrice.startsWith("0.") ? 4 : 2;
  return {
    symbol,
    name,
    exchange,
    assetClass,
    sector,
    referencePrice,
    volatility,
    priceDecimals,
    qtyDecimals: fractionable(referencePrice) ? FRACTIONAL_SHARE_DECIMALS : 0,
  };
}

/** Crypto trades in fractions down to one hundred-millionth of a coin (a satoshi for bitcoin). */
function cryptoPairs(rows: [string, string, string, number, number][]): SecuritySeed[] {
  return rows.map(([symbol, name, referencePrice, volatility, priceDecimals]) => ({
    symbol,
    name,
    exchange: "CRYPTO",
    assetClass: "crypto",
    sector: null,
    referencePrice,
    volatility,
    priceDecimals,
    qtyDecimals: 8,
  }));
}

/** One catalog entry as written in code; the store adds `_id` (the symbol), `tradable` and `updatedAt`. */
export type SecuritySeed = {
  /** Uppercase; crypto pairs are written `BASE/USD`, share classes `BRK.B`. */
  symbol: string;
  name: string;
  exchange: Exchange;
  assetClass: AssetClass;
  /** The GICS sector of a stock, the category of an ETF, null for crypto. */
  sector: GicsSector | EtfCategory | null;
  /** A decimal string in USD with at most `priceDecimals` decimals: where the simulated market starts. */
  referencePrice: string;
  /** Annualised volatility, a model parameter of the simulated market (not money). */
  volatility: number;
  /** Decimals a price of this security may carry (its tick is 10^-priceDecimals). */
  priceDecimals: number;
  /** Decimals a quantity may carry: 0 for whole shares, 6 for fractionable shares, 8 for crypto. */
  qtyDecimals: number;
};

export type AssetClass = "us_equity" | "etf" | "crypto";

export type Exchange = "NASDAQ" | "NYSE" | "NYSE ARCA" | "BATS" | "CRYPTO";

/** The 11 GICS sectors. */
export type GicsSector =
  | "Information Technology"
  | "Communication Services"
  | "Consumer Discretionary"
  | "Consumer Staples"
  | "Health Care"
  | "Financials"
  | "Industrials"
  | "Energy"
  | "Materials"
  | "Real Estate"
  | "Utilities";

/** What an ETF holds, in the words a trader filters by. */
export type EtfCategory =
  | "Broad market"
  | "Dividend"
  | "International"
  | "Bonds"
  | "Commodities"
  | "Sector"
  | "Thematic"
  | "Digital assets";
